import type { ConfState, Entry, Message, SnapshotChunk, SnapshotMeta } from '../raft/messages.js'
import { decodeCbor, encodeCbor } from './codec.js'
import { CodecError } from './errors.js'

/** Terms, indices, offsets and sizes: a safe non-negative integer, never NaN, ∞, -1 or 2^53. */
export function isWireInt(v: unknown): v is number {
  return Number.isSafeInteger(v) && (v as number) >= 0
}

function wireInt(v: unknown, field: string): number {
  if (!isWireInt(v)) throw new CodecError(`${field} is not a safe non-negative integer`)
  return v
}

/** Wire version of Raft messages; bump on any incompatible change. */
export const MESSAGE_CODEC_VERSION = 1

// Positional arrays keep frames small; the order is the wire format.
type WireEntry = [number, number, number, Uint8Array]
type WireConf = [string[], string[], string[], string[], string[], boolean]
type WireMeta = [number, number, WireConf]
type WireChunk = [WireMeta, number, number, Uint8Array]
type WireMessage = [
  version: number,
  type: number,
  from: string,
  to: string,
  term: number,
  logTerm: number | null,
  index: number | null,
  entries: WireEntry[] | null,
  commit: number | null,
  reject: boolean | null,
  rejectHint: number | null,
  snapshot: WireChunk | null,
  context: Uint8Array | null,
  dataMatch: number | null,
]

const opt = <T>(v: T | undefined): T | null => (v === undefined ? null : v)

/** A plain Uint8Array view: cbor-x returns Node Buffers in Node, and all runtimes must agree. */
function asBytes(v: unknown, what: string): Uint8Array {
  if (!(v instanceof Uint8Array)) throw new CodecError(`${what} is not bytes`)
  return v.constructor === Uint8Array ? v : new Uint8Array(v.buffer, v.byteOffset, v.byteLength)
}

export function encodeEntry(e: Entry): WireEntry {
  return [e.term, e.index, e.type, e.data]
}
export function decodeEntry(w: WireEntry): Entry {
  if (!Array.isArray(w) || w.length !== 4) throw new CodecError('malformed entry')
  const [term, index, type, data] = w
  if (type !== 0 && type !== 1) throw new CodecError('malformed entry type')
  return {
    term: wireInt(term, 'entry term'),
    index: wireInt(index, 'entry index'),
    type,
    data: asBytes(data, 'entry data'),
  }
}

function encodeConf(c: ConfState): WireConf {
  return [c.voters, c.outgoing, c.learners, c.learnersNext, c.witnesses, c.autoLeave]
}
function decodeConf(w: WireConf): ConfState {
  if (!Array.isArray(w) || w.length !== 6) throw new CodecError('malformed conf state')
  const lists = w.slice(0, 5) as string[][]
  for (const list of lists) {
    if (!Array.isArray(list) || list.some((id) => typeof id !== 'string')) {
      throw new CodecError('malformed conf state list')
    }
  }
  return {
    voters: lists[0],
    outgoing: lists[1],
    learners: lists[2],
    learnersNext: lists[3],
    witnesses: lists[4],
    autoLeave: w[5] === true,
  }
}
export function encodeSnapshotMeta(m: SnapshotMeta): WireMeta {
  return [m.index, m.term, encodeConf(m.conf)]
}
export function decodeSnapshotMeta(w: WireMeta): SnapshotMeta {
  if (!Array.isArray(w) || w.length !== 3) throw new CodecError('malformed snapshot meta')
  return {
    index: wireInt(w[0], 'snapshot index'),
    term: wireInt(w[1], 'snapshot term'),
    conf: decodeConf(w[2]),
  }
}
function encodeChunk(c: SnapshotChunk): WireChunk {
  return [encodeSnapshotMeta(c.meta), c.offset, c.total, c.data]
}
function decodeChunk(w: WireChunk): SnapshotChunk {
  if (!Array.isArray(w) || w.length !== 4) throw new CodecError('malformed snapshot chunk')
  return {
    meta: decodeSnapshotMeta(w[0]),
    offset: wireInt(w[1], 'snapshot offset'),
    total: wireInt(w[2], 'snapshot total'),
    data: asBytes(w[3], 'snapshot chunk'),
  }
}

function toWire(m: Message): WireMessage {
  return [
    MESSAGE_CODEC_VERSION,
    m.type,
    m.from,
    m.to,
    m.term,
    opt(m.logTerm),
    opt(m.index),
    m.entries ? m.entries.map(encodeEntry) : null,
    opt(m.commit),
    opt(m.reject),
    opt(m.rejectHint),
    m.snapshot ? encodeChunk(m.snapshot) : null,
    opt(m.context),
    opt(m.dataMatch),
  ]
}

export function encodeMessage(m: Message): Uint8Array {
  return encodeCbor(toWire(m))
}

/** The encoding of `m` as parts to write in order (one part: cbor-x encodes the whole message). */
export function encodeMessageParts(m: Message): Uint8Array[] {
  return [encodeMessage(m)]
}

function optionalInt(v: unknown, field: string): number | undefined {
  return v === null || v === undefined ? undefined : wireInt(v, field)
}

/**
 * Bytes and characters a decoded message holds. An honest encoding stores each once, so this
 * never exceeds the frame's length; more means CBOR value sharing (tags 28/29, packed values)
 * that would multiply memory, and on storing, disk.
 */
function payloadSize(m: Message): number {
  let n = m.from.length + m.to.length + (m.context?.byteLength ?? 0)
  if (m.entries) for (const e of m.entries) n += e.data.byteLength
  const s = m.snapshot
  if (s) {
    n += s.data.byteLength
    const c = s.meta.conf
    for (const list of [c.voters, c.outgoing, c.learners, c.learnersNext, c.witnesses]) {
      for (const id of list) n += id.length
    }
  }
  return n
}

/** Decodes one message; throws CodecError on anything malformed, never anything else. */
export function decodeMessage(bytes: Uint8Array): Message {
  let w: WireMessage
  try {
    w = decodeCbor<WireMessage>(bytes)
  } catch (err) {
    throw new CodecError(`undecodable message: ${(err as Error).message}`)
  }
  if (!Array.isArray(w) || w.length !== 14) throw new CodecError('malformed message')
  if (w[0] !== MESSAGE_CODEC_VERSION) throw new CodecError(`unsupported message version ${String(w[0])}`)
  const [, type, from, to, term] = w
  if (typeof type !== 'number' || type < 0 || type > 17 || !Number.isInteger(type)) {
    throw new CodecError('unknown message type')
  }
  if (typeof from !== 'string' || typeof to !== 'string') throw new CodecError('malformed message header')
  const msg: Message = { type: type as Message['type'], from, to, term: wireInt(term, 'term') }
  // Only present fields are assigned: deleting keys afterwards would make every message a slow
  // dictionary object in V8.
  const logTerm = optionalInt(w[5], 'logTerm')
  if (logTerm !== undefined) msg.logTerm = logTerm
  const index = optionalInt(w[6], 'index')
  if (index !== undefined) msg.index = index
  if (w[7] !== null) {
    if (!Array.isArray(w[7])) throw new CodecError('malformed entries')
    const entries: Entry[] = new Array(w[7].length)
    for (let i = 0; i < entries.length; i++) entries[i] = decodeEntry(w[7][i])
    msg.entries = entries
  }
  const commit = optionalInt(w[8], 'commit')
  if (commit !== undefined) msg.commit = commit
  if (w[9] !== null) msg.reject = w[9] === true
  const rejectHint = optionalInt(w[10], 'rejectHint')
  if (rejectHint !== undefined) msg.rejectHint = rejectHint
  if (w[11] !== null) msg.snapshot = decodeChunk(w[11])
  if (w[12] !== null) msg.context = asBytes(w[12], 'context')
  const dataMatch = optionalInt(w[13], 'dataMatch')
  if (dataMatch !== undefined) msg.dataMatch = dataMatch
  if (payloadSize(msg) > bytes.byteLength)
    throw new CodecError('decoded message is larger than its frame (shared values)')
  return msg
}
