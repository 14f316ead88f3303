import { concatBytes } from '../bytes.js'
import { decodeCbor, encodeCbor } from '../codec/index.js'
import type { IndexFactory } from '../vector/index.js'
import { Collection } from './collection.js'
import type { CollectionOptions, Metadata } from './commands.js'
import { SnapshotError } from './errors.js'
import {
  createStateMachine,
  type SessionRecord,
  StateMachine,
  type StateMachineOptions,
} from './state-machine.js'

export const SNAPSHOT_VERSION = 1

export interface SnapshotOptions {
  /** Target size of one chunk; index bytes and item batches are split to fit. */
  chunkBytes?: number
}

type Chunk =
  | { t: 'head'; v: number; lastApplied: number; sessions: [string, SessionRecord][]; collections: number }
  | { t: 'coll'; name: string; options: Required<CollectionOptions>; nextKey: number; size: number }
  | { t: 'items'; ids: string[]; keys: number[]; metadata: (Metadata | null)[]; vectors: Uint8Array }
  | { t: 'index'; bytes: Uint8Array; last: boolean }
  | { t: 'end'; collections: number }

/**
 * The whole state as a stream of CBOR chunks: per collection its options, id table, metadata,
 * vectors and the serialized usearch index, so a restore loads the graph instead of rebuilding it.
 */
export function* takeSnapshot(sm: StateMachine, options: SnapshotOptions = {}): Generator<Uint8Array> {
  const chunkBytes = options.chunkBytes ?? 1 << 20
  const chunk = (c: Chunk) => encodeCbor(c)
  yield chunk({
    t: 'head',
    v: SNAPSHOT_VERSION,
    lastApplied: sm.lastApplied,
    sessions: [...sm.sessions.entries()],
    collections: sm.collections.size,
  })
  for (const c of sm.collections.values()) {
    yield chunk({ t: 'coll', name: c.name, options: c.options, nextKey: c.nextKey, size: c.size })
    const d = c.options.dimensions
    const perChunk = Math.max(1, Math.floor(chunkBytes / (d * 4 + 64)))
    const items = [...c.items.values()]
    for (let start = 0; start < items.length; start += perChunk) {
      const batch = items.slice(start, start + perChunk)
      const vectors = new Float32Array(batch.length * d)
      batch.forEach((it, i) => {
        vectors.set(it.vector, i * d)
      })
      yield chunk({
        t: 'items',
        ids: batch.map((it) => it.id),
        keys: batch.map((it) => it.key),
        metadata: batch.map((it) => it.metadata ?? null),
        vectors: new Uint8Array(vectors.buffer),
      })
    }
    const bytes = c.index.serialize()
    for (let at = 0; at < bytes.length || at === 0; at += chunkBytes) {
      const end = Math.min(bytes.length, at + chunkBytes)
      yield chunk({ t: 'index', bytes: bytes.subarray(at, end), last: end === bytes.length })
      if (end === bytes.length) break
    }
  }
  yield chunk({ t: 'end', collections: sm.collections.size })
}

/**
 * Builds a state machine from snapshot chunks, with any engine (a native snapshot restores
 * into WASM and back). Throws SnapshotError on a malformed or truncated stream.
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
 * snapshot is read into a fresh machine first, so a bad stream leaves `sm` untouched.
 */
export async function restoreInto(
  sm: StateMachine,
  chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
): Promise<void> {
  const fresh = await restoreSnapshot(chunks, { factory: sm.make, limits: sm.limits })
  for (const c of sm.collections.values()) c.free()
  sm.collections.clear()
  sm.sessions.clear()
  for (const [name, c] of fresh.collections) sm.collections.set(name, c)
  for (const [client, record] of fresh.sessions) sm.sessions.set(client, record)
  sm.lastApplied = fresh.lastApplied
}

async function readInto(
  sm: StateMachine,
  chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
): Promise<void> {
  let head: Extract<Chunk, { t: 'head' }> | undefined
  let current: Collection | undefined
  let expected = 0
  let parts: Uint8Array[] = []
  let ended = false
  for await (const raw of chunks) {
    const c = decodeCbor<Chunk>(raw)
    if (ended) throw new SnapshotError('chunk after the end')
    if (!head) {
      if (c.t !== 'head' || c.v !== SNAPSHOT_VERSION)
        throw new SnapshotError('stream must start with a v1 head')
      head = c
      sm.lastApplied = c.lastApplied
      for (const [client, record] of c.sessions) sm.sessions.set(client, record)
      continue
    }
    switch (c.t) {
      case 'coll':
        if (current) throw new SnapshotError(`collection ${current.name}: index missing`)
        current = new Collection(c.name, c.options, sm.make)
        current.nextKey = c.nextKey
        expected = c.size
        sm.collections.set(c.name, current)
        break
      case 'items': {
        if (!current) throw new SnapshotError('items before a collection')
        const d = current.options.dimensions
        // Copy: a decoded byte string may be a view into a larger (pooled) buffer.
        const raw = new Uint8Array(c.vectors.length)
        raw.set(c.vectors)
        const vectors = new Float32Array(raw.buffer)
        c.ids.forEach((id, i) => {
          const key = c.keys[i]
          const vector = vectors.slice(i * d, (i + 1) * d)
          current!.ids.set(id, key)
          current!.items.set(key, { id, key, vector, metadata: c.metadata[i] ?? undefined })
        })
        break
      }
      case 'index':
        if (!current) throw new SnapshotError('index before a collection')
        parts.push(c.bytes)
        if (c.last) {
          finishCollection(current, concatBytes(parts), expected)
          current = undefined
          parts = []
        }
        break
      case 'end':
        if (current) throw new SnapshotError(`collection ${current.name}: index missing`)
        if (c.collections !== sm.collections.size || c.collections !== head.collections)
          throw new SnapshotError(`expected ${head.collections} collections, read ${sm.collections.size}`)
        ended = true
        break
      default:
        throw new SnapshotError(`unknown chunk type ${JSON.stringify((c as { t: unknown }).t)}`)
    }
  }
  if (!ended) throw new SnapshotError('stream ended early (no end chunk)')
}

function finishCollection(c: Collection, bytes: Uint8Array, expected: number): void {
  if (c.items.size !== expected)
    throw new SnapshotError(`collection ${c.name}: ${c.items.size} items, expected ${expected}`)
  c.loadIndex(bytes)
  for (const key of c.items.keys())
    if (!c.index.contains(key))
      throw new SnapshotError(`collection ${c.name}: key ${key} missing from the index`)
}
