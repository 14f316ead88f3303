import { decodeCbor, encodeCbor } from '../codec/index.js'
import type { CollectionOptions, Metadata } from './commands.js'
import { checkEncoding } from './encoding-check.js'
import { SnapshotError } from './errors.js'
import { hash64 } from './hash.js'
import type { SessionRecord } from './sessions.js'

export const SNAPSHOT_VERSION = 2

export type SessionRow = [client: string, record: SessionRecord]

export type Chunk =
  | { t: 'head'; v: number; lastApplied: number; sessions: number; collections: number }
  | { t: 'sessions'; rows: SessionRow[] }
  | { t: 'coll'; name: string; options: Required<CollectionOptions>; nextKey: number; size: number }
  | { t: 'items'; ids: string[]; keys: number[]; metadata: (Metadata | null)[]; vectors: Uint8Array }
  | { t: 'index'; bytes: Uint8Array; last: boolean }
  | { t: 'end'; sessions: number; collections: number; chunks: number }

/**
 * One chunk on the wire: its type, its position in the stream, the snapshot's index, and the
 * CBOR body with a hash over body and position, so a flipped bit, a chunk from another snapshot
 * or one out of order is refused before anything is decoded or loaded.
 */
interface Frame {
  t: Chunk['t']
  n: number
  at: number
  h: string
  b: Uint8Array
}

export function encodeFrame(chunk: Chunk, n: number, at: number): Uint8Array {
  const b = encodeCbor(chunk)
  return encodeCbor({ t: chunk.t, n, at, h: hash64(b, n), b } satisfies Frame)
}

/** Checks a frame's place and checksum and decodes its body (depth-checked, like commands). */
export function decodeFrame(raw: Uint8Array, n: number, at: number | undefined, maxDepth: number): Chunk {
  let frame: Frame
  try {
    checkEncoding(raw, 2)
    frame = decodeCbor<Frame>(raw)
  } catch (err) {
    throw new SnapshotError(`chunk ${n}: not a snapshot frame (${(err as Error).message})`)
  }
  if (typeof frame !== 'object' || frame === null || !(frame.b instanceof Uint8Array))
    throw new SnapshotError(`chunk ${n}: not a snapshot frame`)
  if (frame.n !== n)
    throw new SnapshotError(`chunk ${n}: arrived as chunk ${String(frame.n)} (lost or reordered)`)
  if (at !== undefined && frame.at !== at)
    throw new SnapshotError(`chunk ${n}: belongs to the snapshot at index ${String(frame.at)}, not ${at}`)
  if (hash64(frame.b, n) !== frame.h) throw new SnapshotError(`chunk ${n}: checksum mismatch`)
  let chunk: Chunk
  try {
    checkEncoding(frame.b, maxDepth)
    chunk = decodeCbor<Chunk>(frame.b)
  } catch (err) {
    throw new SnapshotError(`chunk ${n}: ${(err as Error).message}`)
  }
  if (typeof chunk !== 'object' || chunk === null || chunk.t !== frame.t)
    throw new SnapshotError(`chunk ${n}: body does not match its frame`)
  return chunk
}
