import type { Entry, EntryType } from '@flotilla/core'
import { crc32c } from '@node-rs/crc32'

/**
 * On-disk layout of a segment: a sequence of frames, one per group commit.
 *
 *   frame  = magic u32 | payload length u32 | crc32c(magic, length) u32 | records
 *   record = body length u32 | crc32c(body) u32 | body
 *   body   = index u64 | term u64 | type u8 | data
 *
 * A frame is written by one write() and made durable by one fdatasync, so after a crash the
 * last frame may be torn but every earlier frame was synced. Each record carries its own CRC so
 * that a read of a single entry can check it without reading the whole frame.
 */
export const FRAME_MAGIC = 0x464c5731 // "FLW1"
export const FRAME_HEADER_BYTES = 12
export const RECORD_HEADER_BYTES = 8
const BODY_FIXED_BYTES = 17
const TWO_32 = 2 ** 32

export interface EncodedFrame {
  bytes: Buffer
  /** Offset of each record (its header) from the start of the frame. */
  offsets: number[]
  /** Size of each record including its header. */
  sizes: number[]
}

export function encodeFrame(entries: Entry[]): EncodedFrame {
  let payload = 0
  for (const e of entries) payload += RECORD_HEADER_BYTES + BODY_FIXED_BYTES + e.data.length
  const bytes = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload)
  bytes.writeUInt32LE(FRAME_MAGIC, 0)
  bytes.writeUInt32LE(payload, 4)
  bytes.writeUInt32LE(crc32c(bytes.subarray(0, 8)), 8)
  const offsets: number[] = []
  const sizes: number[] = []
  let at = FRAME_HEADER_BYTES
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
  return { bytes, offsets, sizes }
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
  /** Offsets of the frame's records (valid only when `defect` is null). */
  records: number[]
  /** Offset just past the frame (valid only when `defect` is null). */
  end: number
}

/** Checks the frame starting at `at`: header, bounds and every record's checksum. */
export function checkFrame(buf: Buffer, at: number): FrameCheck {
  const fail = (defect: string): FrameCheck => ({ defect, records: [], end: at })
  if (buf.length - at < FRAME_HEADER_BYTES) return fail('frame header cut short')
  if (buf.readUInt32LE(at) !== FRAME_MAGIC) return fail('bad frame magic')
  if (crc32c(buf.subarray(at, at + 8)) !== buf.readUInt32LE(at + 8))
    return fail('frame header checksum mismatch')
  const end = at + FRAME_HEADER_BYTES + buf.readUInt32LE(at + 4)
  if (end > buf.length) return fail('frame runs past the end of the file')
  const records: number[] = []
  for (let r = at + FRAME_HEADER_BYTES; r < end; r += recordSize(buf, r)) {
    const defect = checkRecord(buf, r, end)
    if (defect) return fail(`${defect} at offset ${r}`)
    records.push(r)
  }
  return { defect: null, records, end }
}

const MAGIC_BYTES = Buffer.from([
  FRAME_MAGIC & 0xff,
  (FRAME_MAGIC >>> 8) & 0xff,
  (FRAME_MAGIC >>> 16) & 0xff,
  FRAME_MAGIC >>> 24,
])

/** Offset of the first sound frame at or after `from`, or -1. Used to tell a torn tail from corruption. */
export function findSoundFrame(buf: Buffer, from: number): number {
  for (let at = buf.indexOf(MAGIC_BYTES, from); at >= 0; at = buf.indexOf(MAGIC_BYTES, at + 1)) {
    if (checkFrame(buf, at).defect === null) return at
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
