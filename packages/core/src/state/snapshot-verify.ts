import { concatBytes } from '../bytes.js'
import { Collection } from './collection.js'
import { SnapshotError, StateMachineError } from './errors.js'
import { type Chunk, type SessionRow, SNAPSHOT_VERSION } from './snapshot-frame.js'
import type { StateMachine } from './state-machine.js'
import {
  checkId,
  checkMetadata,
  checkVector,
  type StateView,
  validateCommand,
  validateSession,
  withDefaults,
} from './validate.js'
import { checkPlainValue, clonePlain } from './values.js'

const HASH = /^[0-9a-f]{16}$/
const noState: StateView = { collectionOptions: () => undefined, hasId: () => false }

interface Open {
  c: Collection
  size: number
  lastKey: number
  parts: Uint8Array[]
}

type Head = Extract<Chunk, { t: 'head' }>

/**
 * Reads snapshot chunks into an empty machine and checks, before anything replaces live state,
 * that the pieces agree: sessions are valid, unique, in log order and not expired; collection
 * options are valid; ids are valid and unique; keys rise and stay below `nextKey`; vectors fit
 * their storage type; metadata is storable; each index holds exactly the listed keys.
 */
export class SnapshotReader {
  ended = false
  readonly #sm: StateMachine
  #head: Head | undefined
  #open: Open | undefined
  #sessions = 0
  #lastSessionIndex = 0

  constructor(sm: StateMachine) {
    this.#sm = sm
  }

  read(chunk: Chunk, n: number): void {
    try {
      this.#read(chunk, n)
    } catch (err) {
      if (err instanceof StateMachineError && !(err instanceof SnapshotError))
        throw new SnapshotError(`chunk ${n} (${chunk.t}): ${err.message}`)
      throw err
    }
  }

  #read(chunk: Chunk, n: number): void {
    const head = this.#head
    if (!head) {
      if (chunk.t !== 'head' || chunk.v !== SNAPSHOT_VERSION)
        throw new SnapshotError(`stream must start with a v${SNAPSHOT_VERSION} head`)
      for (const field of ['lastApplied', 'sessions', 'collections'] as const)
        if (!isCount(chunk[field])) throw new SnapshotError(`head.${field} is not a count`)
      this.#head = chunk
      this.#sm.lastApplied = chunk.lastApplied
      return
    }
    switch (chunk.t) {
      case 'sessions':
        if (this.#sm.collections.size > 0) throw new SnapshotError('sessions after a collection')
        for (const row of chunk.rows) this.#session(row, head)
        return
      case 'coll':
        this.#collection(chunk, head)
        return
      case 'items':
        this.#items(chunk)
        return
      case 'index': {
        const open = this.#open
        if (!open) throw new SnapshotError('index before a collection')
        if (!(chunk.bytes instanceof Uint8Array)) throw new SnapshotError('index bytes are not bytes')
        open.parts.push(chunk.bytes)
        if (chunk.last === true) {
          finish(open, concatBytes(open.parts))
          this.#open = undefined
        }
        return
      }
      case 'end':
        if (this.#open) throw new SnapshotError(`collection ${this.#open.c.name}: index missing`)
        if (chunk.collections !== head.collections || this.#sm.collections.size !== head.collections)
          throw new SnapshotError(
            `expected ${head.collections} collections, read ${this.#sm.collections.size}`,
          )
        if (chunk.sessions !== head.sessions || this.#sessions !== head.sessions)
          throw new SnapshotError(`expected ${head.sessions} sessions, read ${this.#sessions}`)
        if (chunk.chunks !== n + 1)
          throw new SnapshotError(`end counts ${chunk.chunks} chunks, read ${n + 1}`)
        this.ended = true
        return
      default:
        throw new SnapshotError(`unknown chunk type ${JSON.stringify((chunk as { t: unknown }).t)}`)
    }
  }

  #session(row: SessionRow, head: Head): void {
    if (!Array.isArray(row) || row.length !== 2)
      throw new SnapshotError('a session row is not [client, record]')
    const [client, record] = row
    validateSession({ client, seq: record?.seq }, this.#sm.limits)
    const { hash, index, result } = record
    if (typeof hash !== 'string' || !HASH.test(hash)) throw new SnapshotError(`session ${client}: bad hash`)
    if (!isCount(index) || index > head.lastApplied || index < this.#lastSessionIndex)
      throw new SnapshotError(`session ${client}: index ${index} out of order`)
    if (index <= head.lastApplied - this.#sm.limits.sessionTtlEntries)
      throw new SnapshotError(`session ${client}: expired at index ${index}`)
    if (
      typeof result !== 'object' ||
      result === null ||
      result.ok !== true ||
      !isCount(result.index) ||
      result.index > index
    )
      throw new SnapshotError(`session ${client}: bad result`)
    checkPlainValue('result.value', result.value, 2)
    if (this.#sm.sessions.get(client)) throw new SnapshotError(`session ${client}: listed twice`)
    if (++this.#sessions > this.#sm.limits.maxSessions)
      throw new SnapshotError('more sessions than maxSessions')
    this.#lastSessionIndex = index
    this.#sm.sessions.record(client, { seq: record.seq, hash, index, result })
  }

  #collection(chunk: Extract<Chunk, { t: 'coll' }>, head: Head): void {
    if (this.#open) throw new SnapshotError(`collection ${this.#open.c.name}: index missing`)
    if (this.#sessions !== head.sessions)
      throw new SnapshotError(`expected ${head.sessions} sessions before collections`)
    const { name, options } = chunk
    validateCommand({ op: 'create', name, options }, noState, this.#sm.limits)
    const complete = withDefaults(options)
    if (Object.keys(options).length !== Object.keys(complete).length)
      throw new SnapshotError(`collection ${name}: options are not complete`)
    if (this.#sm.collections.has(name)) throw new SnapshotError(`collection ${name}: listed twice`)
    if (!isCount(chunk.nextKey) || !isCount(chunk.size) || chunk.size > chunk.nextKey)
      throw new SnapshotError(`collection ${name}: bad nextKey or size`)
    const c = new Collection(name, complete, this.#sm.make)
    c.nextKey = chunk.nextKey
    this.#sm.collections.set(name, c)
    this.#open = { c, size: chunk.size, lastKey: -1, parts: [] }
  }

  #items(chunk: Extract<Chunk, { t: 'items' }>): void {
    const open = this.#open
    if (!open) throw new SnapshotError('items before a collection')
    const { c } = open
    const { ids, keys, metadata, vectors } = chunk
    const d = c.options.dimensions
    if (
      !Array.isArray(ids) ||
      !Array.isArray(keys) ||
      !Array.isArray(metadata) ||
      keys.length !== ids.length ||
      metadata.length !== ids.length ||
      !(vectors instanceof Uint8Array) ||
      vectors.length !== ids.length * d * 4
    )
      throw new SnapshotError(`collection ${c.name}: items do not line up`)
    // Copy: a decoded byte string may be a view into a larger (pooled) buffer.
    const all = new Float32Array(new Uint8Array(vectors).buffer)
    const limits = this.#sm.limits
    ids.forEach((id, i) => {
      const key = keys[i]
      const at = `${c.name}.items[${id}]`
      checkId(`${at}.id`, id, limits)
      if (c.ids.has(id)) throw new SnapshotError(`${at}: id listed twice`)
      if (!isCount(key) || key <= open.lastKey || key >= c.nextKey)
        throw new SnapshotError(
          `${at}: key ${key} is not above ${open.lastKey} and below nextKey ${c.nextKey}`,
        )
      const vector = all.slice(i * d, (i + 1) * d)
      checkVector(`${at}.vector`, vector, c.options)
      const meta = metadata[i] ?? undefined
      if (meta !== undefined) checkMetadata(`${at}.metadata`, meta, limits)
      open.lastKey = key
      c.ids.set(id, key)
      c.items.set(key, { id, key, vector, metadata: clonePlain(meta) })
    })
  }
}

function finish(open: Open, bytes: Uint8Array): void {
  const { c } = open
  if (c.items.size !== open.size)
    throw new SnapshotError(`collection ${c.name}: ${c.items.size} items, expected ${open.size}`)
  c.loadIndex(bytes)
  if (c.index.count() !== c.items.size)
    throw new SnapshotError(
      `collection ${c.name}: index holds ${c.index.count()} keys, the table ${c.items.size}`,
    )
  for (const key of c.items.keys())
    if (!c.index.contains(key))
      throw new SnapshotError(`collection ${c.name}: key ${key} missing from the index`)
}

const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0
