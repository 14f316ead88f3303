import type { Entry, EntryType, HardState } from '@flotilla/core'
import { decodeCbor, encodeCbor } from '@flotilla/core'
import { crc32c } from '@node-rs/crc32'

/**
 * On-disk layout of a segment: a sequence of frames, one per group commit (or log change).
 *
 *   frame  = magic u32 | payload length u32 | meta length u32 | crc u32 | meta | records
 *   meta   = CBOR FrameMeta (may be empty)
 *   record = body length u32 | crc32c(body) u32 | body
 *   body   = index u64 | term u64 | type u8 | data
 *
 * The frame crc is crc32c(offset u64 | the first 12 header bytes | meta | records) seeded with
 * the segment's salt, a random number in the segment's file name. A frame therefore checks only
 * at its own offset in its own segment: a frame image inside an entry's data (the client does
 * not know the salt) or stale blocks of a deleted segment (another salt) never pass for a
 * frame. A frame is written by one write and made durable by one fdatasync; each record also
 * carries its own crc so that a single entry can be checked when it is read.
 */
export const FRAME_MAGIC = 0x464c5732 // "FLW2"
export const FRAME_HEADER_BYTES = 16
export const RECORD_HEADER_BYTES = 8
const BODY_FIXED_BYTES = 17
const TWO_32 = 2 ** 32

/** What a frame says besides its entries, in the order replay applies it. */
export interface FrameMeta {
  /** The first frame of a segment: the last index and first index when the segment was started. */
  start?: { last: number; first: number }
  /** An incoming snapshot replaced the log: every entry is gone, the log restarts at `first`. */
  reset?: boolean
  /** Entries below this index are compacted. */
  first?: number
  /** The hard state from this frame on. */
  hardState?: HardState
}

export interface EncodedFrame {
  bytes: Buffer
  /** Offset of each record (its header) from the start of the frame. */
  offsets: number[]
  /** Size of each record including its header. */
  sizes: number[]
}

const isEmpty = (meta: FrameMeta) =>
  meta.start === undefined && !meta.reset && meta.first === undefined && meta.hardState === undefined

export function encodeFrame(entries: Entry[], meta: FrameMeta, salt: number, offset: number): EncodedFrame {
  const metaBytes = isEmpty(meta) ? new Uint8Array(0) : encodeCbor(meta)
  let payload = metaBytes.length
  for (const e of entries) payload += RECORD_HEADER_BYTES + BODY_FIXED_BYTES + e.data.length
  const bytes = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload)
  bytes.writeUInt32LE(FRAME_MAGIC, 0)
  bytes.writeUInt32LE(payload, 4)
  bytes.writeUInt32LE(metaBytes.length, 8)
  bytes.set(metaBytes, FRAME_HEADER_BYTES)
  const offsets: number[] = []
  const sizes: number[] = []
  let at = FRAME_HEADER_BYTES + metaBytes.length
  for (const e of entries) {
    const bodyLen = BODY_FIXED_BYTES + e.data.length
    const body = at + RECORD_HEADER_BYTES
    writeU64(bytes, e.index, body)
    writeU64(bytes, e.term, body + 8)
    bytes[body + 16] = e.type
    bytes.set(e.data, body + BODY_FIXED_BYTES)
    bytes.writeUInt32LE(bodyLen, at)
    bytes.writeUInt32LE(crc32c(bytes.subarray(body, body + bodyLen)), at + 4)
    offsets.push(at)
    sizes.push(RECORD_HEADER_BYTES + bodyLen)
    at += RECORD_HEADER_BYTES + bodyLen
  }
  bytes.writeUInt32LE(frameCrc(bytes, 0, bytes.length, salt, offset), 12)
  return { bytes, offsets, sizes }
}

function frameCrc(buf: Buffer, at: number, end: number, salt: number, offset: number): number {
  const place = Buffer.allocUnsafe(8)
  writeU64(place, offset, 0)
  let crc = crc32c(place, salt)
  crc = crc32c(buf.subarray(at, at + 12), crc)
  return crc32c(buf.subarray(at + FRAME_HEADER_BYTES, end), crc)
}

/** Why a record or frame failed its check; null when it is sound. */
export type Defect = string | null

/** Checks the record at `at` in `buf` (which must hold the whole record). */
export function checkRecord(buf: Buffer, at: number, end: number): Defect {
  if (end - at < RECORD_HEADER_BYTES) return 'record header cut short'
  const bodyLen = buf.readUInt32LE(at)
  if (bodyLen < BODY_FIXED_BYTES) return `record length ${bodyLen} is too small`
  if (bodyLen > end - at - RECORD_HEADER_BYTES) return `record length ${bodyLen} runs past its frame`
  const body = at + RECORD_HEADER_BYTES
  if (crc32c(buf.subarray(body, body + bodyLen)) !== buf.readUInt32LE(at + 4))
    return 'record checksum mismatch'
  return null
}

export function recordSize(buf: Buffer, at: number): number {
  return RECORD_HEADER_BYTES + buf.readUInt32LE(at)
}

/** Decodes a record already checked by `checkRecord`; the entry owns a copy of its data. */
export function decodeRecord(buf: Buffer, at: number): Entry {
  const body = at + RECORD_HEADER_BYTES
  const end = body + buf.readUInt32LE(at)
  return {
    index: readU64(buf, body),
    term: readU64(buf, body + 8),
    type: buf[body + 16] as EntryType,
    data: new Uint8Array(buf.subarray(body + BODY_FIXED_BYTES, end)),
  }
}

/** Index and term of a checked record, without copying its data. */
export function recordKey(buf: Buffer, at: number): { index: number; term: number } {
  const body = at + RECORD_HEADER_BYTES
  return { index: readU64(buf, body), term: readU64(buf, body + 8) }
}

export interface FrameCheck {
  defect: Defect
  meta: FrameMeta
  /** Offsets of the frame's records (valid only when `defect` is null). */
  records: number[]
  /** Offset just past the frame (valid only when `defect` is null). */
  end: number
}

/** Checks the frame at `at` of a segment with `salt`: header, place-bound crc, records, meta. */
export function checkFrame(buf: Buffer, at: number, salt: number): FrameCheck {
  const fail = (defect: string): FrameCheck => ({ defect, meta: {}, records: [], end: at })
  if (buf.length - at < FRAME_HEADER_BYTES) return fail('frame header cut short')
  if (buf.readUInt32LE(at) !== FRAME_MAGIC) return fail('bad frame magic')
  const payload = buf.readUInt32LE(at + 4)
  const metaLen = buf.readUInt32LE(at + 8)
  const end = at + FRAME_HEADER_BYTES + payload
  if (end > buf.length) return fail('frame runs past the end of the file')
  if (metaLen > payload) return fail('frame meta runs past its frame')
  if (frameCrc(buf, at, end, salt, at) !== buf.readUInt32LE(at + 12)) return fail('frame checksum mismatch')
  let meta: FrameMeta = {}
  if (metaLen > 0) {
    try {
      meta = decodeCbor<FrameMeta>(buf.subarray(at + FRAME_HEADER_BYTES, at + FRAME_HEADER_BYTES + metaLen))
    } catch {
      return fail('frame meta does not decode')
    }
  }
  const records: number[] = []
  for (let r = at + FRAME_HEADER_BYTES + metaLen; r < end; r += recordSize(buf, r)) {
    const defect = checkRecord(buf, r, end)
    if (defect) return fail(`${defect} at offset ${r}`)
    records.push(r)
  }
  return { defect: null, meta, records, end }
}

const MAGIC_BYTES = Buffer.alloc(4)
MAGIC_BYTES.writeUInt32LE(FRAME_MAGIC, 0)

/** Offset of the first sound frame of this segment at or after `from`, or -1 (tells a torn tail from damage). */
export function findSoundFrame(buf: Buffer, from: number, salt: number): number {
  for (let at = buf.indexOf(MAGIC_BYTES, from); at >= 0; at = buf.indexOf(MAGIC_BYTES, at + 1)) {
    if (checkFrame(buf, at, salt).defect === null) return at
  }
  return -1
}

function writeU64(buf: Buffer, n: number, at: number): void {
  buf.writeUInt32LE(n % TWO_32, at)
  buf.writeUInt32LE(Math.floor(n / TWO_32), at + 4)
}

function readU64(buf: Buffer, at: number): number {
  return buf.readUInt32LE(at) + buf.readUInt32LE(at + 4) * TWO_32
}
