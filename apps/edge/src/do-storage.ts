import {
  checkAppend,
  decodeCbor,
  type Entry,
  encodeCbor,
  type HardState,
  type SaveBatch,
  type SnapshotMeta,
  type SnapshotWriteOptions,
  type Storage,
  StorageError,
  type StoredSnapshot,
  type StoredState,
} from '@flotilla/core'

/** The part of a SQLite-backed Durable Object's `ctx.storage` this adapter uses. */
export interface DurableObjectStorageLike {
  sql: {
    exec(query: string, ...bindings: unknown[]): { toArray(): Record<string, unknown>[] }
  }
  transactionSync<T>(fn: () => T): T
  /** Resolves once every write before it is durable. */
  sync(): Promise<void>
}

// A row (entry or snapshot chunk) stays under the 2 MB a Durable Object SQLite row may hold.
const MAX_CHUNK_BYTES = 1 << 20
const EMPTY_HARD_STATE: HardState = { term: 0, vote: '', commit: 0 }

const SCHEMA = [
  'CREATE TABLE IF NOT EXISTS flotilla_entries (idx INTEGER PRIMARY KEY, term INTEGER NOT NULL, type INTEGER NOT NULL, data BLOB)',
  'CREATE TABLE IF NOT EXISTS flotilla_meta (key TEXT PRIMARY KEY, value BLOB NOT NULL)',
  'CREATE TABLE IF NOT EXISTS flotilla_snapshot (seq INTEGER PRIMARY KEY, data BLOB NOT NULL)',
]

/**
 * Raft storage over a Durable Object's SQLite storage. Each call runs its SQL synchronously
 * (one transaction per save), so overlapping calls apply in call order, then waits for
 * `storage.sync()`: a save resolves only once it is durable. One store per Durable Object.
 */
export function openDurableObjectStorage(storage: DurableObjectStorageLike): Promise<Storage> {
  for (const statement of SCHEMA) storage.sql.exec(statement)
  return Promise.resolve(new DurableObjectRaftStorage(storage))
}

class DurableObjectRaftStorage implements Storage {
  private first: number
  private last: number
  private hardState: HardState
  private snapshot: { meta: SnapshotMeta; size: number } | null
  private closed = false

  constructor(private readonly storage: DurableObjectStorageLike) {
    this.first = this.meta<number>('first') ?? 1
    const max = this.rows('SELECT MAX(idx) AS idx FROM flotilla_entries')[0]?.idx
    this.last = typeof max === 'number' ? max : this.first - 1
    this.hardState = this.meta<HardState>('hardState') ?? EMPTY_HARD_STATE
    this.snapshot = this.meta('snapshot') ?? null
  }

  async load(): Promise<StoredState> {
    this.checkOpen()
    return {
      hardState: { ...this.hardState },
      snapshot: this.snapshot ? structuredClone(this.snapshot.meta) : null,
      firstIndex: this.first,
      lastIndex: this.last,
    }
  }

  save(batch: SaveBatch): Promise<void> {
    try {
      this.checkOpen()
      const entries = batch.entries ?? []
      const invalid = checkAppend(entries, this.first, this.last)
      if (invalid) throw invalid
      this.storage.transactionSync(() => {
        if (entries.length > 0) {
          this.exec('DELETE FROM flotilla_entries WHERE idx >= ?', entries[0].index)
          for (const e of entries) {
            this.exec(
              'INSERT INTO flotilla_entries VALUES (?, ?, ?, ?)',
              e.index,
              e.term,
              e.type,
              blob(e.data),
            )
          }
        }
        if (batch.hardState) this.putMeta('hardState', batch.hardState)
      })
      if (entries.length > 0) this.last = entries[entries.length - 1].index
      if (batch.hardState) this.hardState = { ...batch.hardState }
      return this.storage.sync()
    } catch (err) {
      return Promise.reject(err)
    }
  }

  async entries(lo: number, hi: number): Promise<Entry[]> {
    this.checkOpen()
    if (lo < this.first)
      throw new StorageError('ERR_COMPACTED', `index ${lo} is compacted (first ${this.first})`)
    if (hi > this.last + 1)
      throw new StorageError('ERR_UNAVAILABLE', `index ${hi - 1} is past the last index ${this.last}`)
    if (lo >= hi) return []
    return this.rows(
      'SELECT idx, term, type, data FROM flotilla_entries WHERE idx >= ? AND idx < ? ORDER BY idx',
      lo,
      hi,
    ).map((row) => ({
      index: row.idx as number,
      term: row.term as number,
      type: row.type as Entry['type'],
      data: bytes(row.data),
    }))
  }

  async term(index: number): Promise<number | undefined> {
    this.checkOpen()
    if (this.snapshot && index === this.snapshot.meta.index) return this.snapshot.meta.term
    if (index < this.first || index > this.last) return undefined
    return this.rows('SELECT term FROM flotilla_entries WHERE idx = ?', index)[0]?.term as number | undefined
  }

  async writeSnapshot(
    meta: SnapshotMeta,
    chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
    options: SnapshotWriteOptions = {},
  ): Promise<void> {
    this.checkOpen()
    const rows: Uint8Array[] = []
    let size = 0
    for await (const chunk of chunks) {
      for (let at = 0; at < chunk.length; at += MAX_CHUNK_BYTES)
        rows.push(chunk.subarray(at, at + MAX_CHUNK_BYTES))
      size += chunk.length
    }
    this.checkOpen()
    const snapshot = { meta: structuredClone(meta), size }
    this.storage.transactionSync(() => {
      this.exec('DELETE FROM flotilla_snapshot')
      rows.forEach((row, seq) => {
        this.exec('INSERT INTO flotilla_snapshot VALUES (?, ?)', seq, blob(row))
      })
      this.putMeta('snapshot', snapshot)
      if (options.replaceLog) {
        this.exec('DELETE FROM flotilla_entries')
        this.putMeta('first', meta.index + 1)
      }
    })
    this.snapshot = snapshot
    if (options.replaceLog) {
      this.first = meta.index + 1
      this.last = meta.index
    }
    await this.storage.sync()
  }

  async readSnapshot(): Promise<StoredSnapshot | null> {
    this.checkOpen()
    if (!this.snapshot) return null
    // Read at once: a later writeSnapshot must not change a snapshot being streamed.
    const rows = this.rows('SELECT data FROM flotilla_snapshot ORDER BY seq').map((row) => bytes(row.data))
    return {
      meta: structuredClone(this.snapshot.meta),
      size: this.snapshot.size,
      async *chunks() {
        yield* rows
      },
    }
  }

  async compact(index: number): Promise<void> {
    this.checkOpen()
    if (index < this.first) return
    const snapIndex = this.snapshot?.meta.index ?? 0
    if (index > snapIndex)
      throw new StorageError('ERR_INVALID', `compact to ${index} past the snapshot at ${snapIndex}`)
    this.storage.transactionSync(() => {
      this.exec('DELETE FROM flotilla_entries WHERE idx <= ?', index)
      this.putMeta('first', index + 1)
    })
    this.first = index + 1
    this.last = Math.max(this.last, index)
    await this.storage.sync()
  }

  async close(): Promise<void> {
    this.closed = true
  }

  private checkOpen(): void {
    if (this.closed) throw new StorageError('ERR_CLOSED', 'storage is closed')
  }

  private exec(query: string, ...bindings: unknown[]): void {
    this.storage.sql.exec(query, ...bindings)
  }

  private rows(query: string, ...bindings: unknown[]): Record<string, unknown>[] {
    return this.storage.sql.exec(query, ...bindings).toArray()
  }

  private meta<T>(key: string): T | undefined {
    const value = this.rows('SELECT value FROM flotilla_meta WHERE key = ?', key)[0]?.value
    return value === undefined ? undefined : decodeCbor<T>(bytes(value))
  }

  private putMeta(key: string, value: unknown): void {
    this.exec('INSERT OR REPLACE INTO flotilla_meta VALUES (?, ?)', key, blob(encodeCbor(value)))
  }
}

/** SQLite binds an ArrayBuffer as a BLOB; a view may sit inside a larger buffer. */
function blob(data: Uint8Array): ArrayBuffer {
  return data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer
}

function bytes(value: unknown): Uint8Array {
  if (value instanceof ArrayBuffer) return new Uint8Array(value)
  if (value instanceof Uint8Array) return value
  if (value === null) return new Uint8Array(0)
  throw new StorageError('ERR_CORRUPT', `expected a BLOB, found ${typeof value}`)
}
