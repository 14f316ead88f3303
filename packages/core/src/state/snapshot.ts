import type { IndexFactory } from '../vector/index.js'
import type { Collection, Item } from './collection.js'
import { SnapshotError } from './errors.js'
import { type Chunk, decodeFrame, encodeFrame, type SessionRow, SNAPSHOT_VERSION } from './snapshot-frame.js'
import { SnapshotReader } from './snapshot-verify.js'
import { createStateMachine, StateMachine, type StateMachineOptions } from './state-machine.js'

export { SNAPSHOT_VERSION }

export interface SnapshotOptions {
  /** Target size of one chunk; index bytes, items and sessions are split to fit. */
  chunkBytes?: number
}

// A session row is a client id (at most maxClientIdBytes) and a small result.
const SESSION_ROW_BYTES = 256

interface CollectionImage {
  name: string
  options: Collection['options']
  nextKey: number
  items: Item[]
  index: Uint8Array
}

/**
 * The whole state as a stream of checksummed CBOR chunks: sessions, then per collection its
 * options, id table, metadata, vectors and the serialized usearch index, so a restore loads the
 * graph instead of rebuilding it. Everything is captured when this is called (items are never
 * changed in place; each index is serialized now), so entries applied while the chunks are
 * consumed do not leak into the snapshot.
 */
export function takeSnapshot(sm: StateMachine, options: SnapshotOptions = {}): Generator<Uint8Array> {
  sm.assertRunning()
  const chunkBytes = Math.max(1, options.chunkBytes ?? 1 << 20)
  const lastApplied = sm.lastApplied
  const sessions: SessionRow[] = [...sm.sessions].map(([client, record]) => [client, { ...record }])
  const collections: CollectionImage[] = [...sm.collections.values()].map((c) => ({
    name: c.name,
    options: { ...c.options },
    nextKey: c.nextKey,
    items: [...c.items.values()],
    index: c.index.serialize(),
  }))
  return writeChunks(lastApplied, sessions, collections, chunkBytes)
}

function* writeChunks(
  lastApplied: number,
  sessions: SessionRow[],
  collections: CollectionImage[],
  chunkBytes: number,
): Generator<Uint8Array> {
  let n = 0
  const frame = (c: Chunk) => encodeFrame(c, n++, lastApplied)
  yield frame({
    t: 'head',
    v: SNAPSHOT_VERSION,
    lastApplied,
    sessions: sessions.length,
    collections: collections.length,
  })
  const rowsPerChunk = Math.max(1, Math.floor(chunkBytes / SESSION_ROW_BYTES))
  for (let start = 0; start < sessions.length; start += rowsPerChunk)
    yield frame({ t: 'sessions', rows: sessions.slice(start, start + rowsPerChunk) })
  for (const c of collections) {
    yield frame({ t: 'coll', name: c.name, options: c.options, nextKey: c.nextKey, size: c.items.length })
    const d = c.options.dimensions
    const perChunk = Math.max(1, Math.floor(chunkBytes / (d * 4 + 64)))
    for (let start = 0; start < c.items.length; start += perChunk) {
      const batch = c.items.slice(start, start + perChunk)
      const vectors = new Float32Array(batch.length * d)
      batch.forEach((it, i) => {
        vectors.set(it.vector, i * d)
      })
      yield frame({
        t: 'items',
        ids: batch.map((it) => it.id),
        keys: batch.map((it) => it.key),
        metadata: batch.map((it) => it.metadata ?? null),
        vectors: new Uint8Array(vectors.buffer),
      })
    }
    const bytes = c.index
    for (let at = 0; at < bytes.length || at === 0; at += chunkBytes) {
      const end = Math.min(bytes.length, at + chunkBytes)
      yield frame({ t: 'index', bytes: bytes.subarray(at, end), last: end === bytes.length })
      if (end === bytes.length) break
    }
  }
  yield frame({ t: 'end', sessions: sessions.length, collections: collections.length, chunks: n + 1 })
}

/**
 * Builds a state machine from snapshot chunks, with any engine (a native snapshot restores
 * into WASM and back). Every chunk's checksum and the restored state's invariants are checked;
 * a malformed, corrupted or truncated stream throws SnapshotError.
 */
export async function restoreSnapshot(
  chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
  options: StateMachineOptions | { factory: IndexFactory; limits?: StateMachineOptions['limits'] } = {},
): Promise<StateMachine> {
  const sm =
    'factory' in options
      ? new StateMachine(options.factory, options.limits)
      : await createStateMachine(options)
  try {
    await readInto(sm, chunks)
  } catch (err) {
    sm.free()
    if (err instanceof SnapshotError) throw err
    throw new SnapshotError(`restore failed: ${(err as Error).message}`)
  }
  return sm
}

/**
 * Replaces the whole state of a running machine by a snapshot (Raft's InstallSnapshot). The
 * snapshot is read and checked in a fresh machine first, so a bad stream leaves `sm` untouched.
 */
export async function restoreInto(
  sm: StateMachine,
  chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
): Promise<void> {
  sm.assertRunning()
  const fresh = await restoreSnapshot(chunks, { factory: sm.make, limits: sm.limits })
  for (const c of sm.collections.values()) c.free()
  sm.collections.clear()
  sm.sessions.clear()
  for (const [name, c] of fresh.collections) sm.collections.set(name, c)
  for (const [client, record] of fresh.sessions) sm.sessions.record(client, record)
  sm.lastApplied = fresh.lastApplied
}

async function readInto(
  sm: StateMachine,
  chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
): Promise<void> {
  const reader = new SnapshotReader(sm)
  // Session rows hold a result map inside a record inside a row list; metadata nests below items.
  const maxDepth = sm.limits.maxMetadataDepth + 6
  let n = 0
  let at: number | undefined
  for await (const raw of chunks) {
    if (reader.ended) throw new SnapshotError('chunk after the end')
    const chunk = decodeFrame(raw, n, at, maxDepth)
    if (n === 0 && chunk.t === 'head') at = chunk.lastApplied
    reader.read(chunk, n)
    n++
  }
  if (!reader.ended) throw new SnapshotError('stream ended early (no end chunk)')
}
