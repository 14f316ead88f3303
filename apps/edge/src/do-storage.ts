import {
  checkAppend,
  checkSnapshotRange,
  checkSnapshotWrite,
  decodeCbor,
  type Entry,
  encodeCbor,
  type HardState,
  type SaveBatch,
  type SnapshotMeta,
  type SnapshotWriteOptions,
  type SnapshotWriter,
  type Storage,
  StorageError,
  type StoredSnapshot,
  type StoredState,
  writeSnapshotFrom,
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

// The current snapshot's rows are keyed by byte offset (ranged reads); rows of snapshots being
// written, by writer and offset, until a commit moves them over. The first version kept the
// snapshot in flotilla_snapshot by sequence number: moved over on open.
const SCHEMA = [
  'CREATE TABLE IF NOT EXISTS flotilla_entries (idx INTEGER PRIMARY KEY, term INTEGER NOT NULL, type INTEGER NOT NULL, data BLOB)',
  'CREATE TABLE IF NOT EXISTS flotilla_meta (key TEXT PRIMARY KEY, value BLOB NOT NULL)',
  'CREATE TABLE IF NOT EXISTS flotilla_snapshot (seq INTEGER PRIMARY KEY, data BLOB NOT NULL)',
  'CREATE TABLE IF NOT EXISTS flotilla_snapshot_bytes (at INTEGER PRIMARY KEY, data BLOB NOT NULL)',
  'CREATE TABLE IF NOT EXISTS flotilla_snapshot_partial (writer INTEGER NOT NULL, at INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (writer, at))',
]

interface SnapshotRecord {
  meta: SnapshotMeta
  size: number
  /** Bumped by every commit: a reader of an older one learns it was replaced. */
  gen?: number
}

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
  private snapshot: SnapshotRecord | null
  private closed = false
  private writers = 0

  constructor(private readonly storage: DurableObjectStorageLike) {
    this.first = this.meta<number>('first') ?? 1
    const max = this.rows('SELECT MAX(idx) AS idx FROM flotilla_entries')[0]?.idx
    this.last = typeof max === 'number' ? max : this.first - 1
    this.hardState = this.meta<HardState>('hardState') ?? EMPTY_HARD_STATE
    this.snapshot = this.meta('snapshot') ?? null
    this.storage.transactionSync(() => {
      // Writes that never committed are gone with the process that made them.
      this.exec('DELETE FROM flotilla_snapshot_partial')
      let at = 0
      for (const row of this.rows('SELECT data FROM flotilla_snapshot ORDER BY seq')) {
        const data = bytes(row.data)
        this.exec('INSERT INTO flotilla_snapshot_bytes VALUES (?, ?)', at, blob(data))
        at += data.length
      }
      this.exec('DELETE FROM flotilla_snapshot')
    })
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
    await writeSnapshotFrom(this, meta, chunks, options)
  }

  /** Rows land as they come (unsynced: a partial write never survives a restart). */
  async beginSnapshot(meta: SnapshotMeta): Promise<SnapshotWriter> {
    this.checkOpen()
    const id = ++this.writers
    const store = this
    let done = false
    let size = 0
    const pending = () => {
      store.checkOpen()
      if (done)
        throw new StorageError('ERR_INVALID', `snapshot at ${meta.index}: already committed or aborted`)
    }
    const discard = () => store.exec('DELETE FROM flotilla_snapshot_partial WHERE writer = ?', id)
    return {
      meta: structuredClone(meta),
      get size() {
        return size
      },
      async write(offset: number, data: Uint8Array) {
        pending()
        checkSnapshotWrite(offset, size)
        store.storage.transactionSync(() => {
          for (let at = 0; at < data.length; at += MAX_CHUNK_BYTES)
            store.exec(
              'INSERT INTO flotilla_snapshot_partial VALUES (?, ?, ?)',
              id,
              offset + at,
              blob(data.subarray(at, at + MAX_CHUNK_BYTES)),
            )
        })
        size += data.length
      },
      async commit(options: SnapshotWriteOptions = {}) {
        pending()
        done = true
        const record: SnapshotRecord = {
          meta: structuredClone(meta),
          size,
          gen: (store.snapshot?.gen ?? 0) + 1,
        }
        store.storage.transactionSync(() => {
          store.exec('DELETE FROM flotilla_snapshot_bytes')
          store.exec(
            'INSERT INTO flotilla_snapshot_bytes SELECT at, data FROM flotilla_snapshot_partial WHERE writer = ?',
            id,
          )
          discard()
          store.putMeta('snapshot', record)
          if (options.replaceLog) {
            store.exec('DELETE FROM flotilla_entries')
            store.putMeta('first', meta.index + 1)
          }
        })
        store.snapshot = record
        if (options.replaceLog) {
          store.first = meta.index + 1
          store.last = meta.index
        }
        await store.storage.sync()
      },
      async abort() {
        if (done || store.closed) return
        done = true
        discard()
      },
    }
  }

  async readSnapshot(): Promise<StoredSnapshot | null> {
    this.checkOpen()
    const record = this.snapshot
    if (!record) return null
    const store = this
    const current = () => {
      store.checkOpen()
      if (store.snapshot !== record)
        throw new StorageError(
          'ERR_UNAVAILABLE',
          'the snapshot was replaced while it was read; read it again',
        )
    }
    return {
      meta: structuredClone(record.meta),
      size: record.size,
      async *chunks() {
        // A row at a time: the snapshot is never all in memory.
        for (let at = 0; at < record.size; ) {
          current()
          const row = store.rows('SELECT data FROM flotilla_snapshot_bytes WHERE at = ?', at)[0]
          if (!row) throw new StorageError('ERR_CORRUPT', `snapshot row at byte ${at} is missing`)
          const data = bytes(row.data)
          at += data.length
          yield data
        }
      },
      async read(offset, length) {
        checkSnapshotRange(offset, length, record.size)
        current()
        const out = new Uint8Array(length)
        const end = offset + length
        const rows = store.rows(
          'SELECT at, data FROM flotilla_snapshot_bytes WHERE at < ? AND at + length(data) > ? ORDER BY at',
          end,
          offset,
        )
        let filled = 0
        for (const row of rows) {
          const at = row.at as number
          const data = bytes(row.data)
          const from = Math.max(offset, at)
          const to = Math.min(end, at + data.length)
          out.set(data.subarray(from - at, to - at), from - offset)
          filled += to - from
        }
        if (filled !== length)
          throw new StorageError('ERR_CORRUPT', `snapshot rows cover ${filled} of [${offset}, ${end})`)
        return out
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
