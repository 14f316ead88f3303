import {
  checkAppend,
  type Entry,
  type EntryType,
  type HardState,
  type SaveBatch,
  type SnapshotMeta,
  type SnapshotWriteOptions,
  type Storage,
  StorageError,
  type StoredSnapshot,
  type StoredState,
} from '@flotilla/core'
import { type IDBPDatabase, openDB } from 'idb'
import {
  DB_VERSION,
  dbName,
  type FlotillaDB,
  lockName,
  type SnapshotRecord,
  type StoredEntry,
} from './schema.js'
import { acquireWebLock } from './web-lock.js'

export interface IdbStorageOptions {
  /** The peer this storage belongs to: one database and one Web Lock per peer id. */
  peerId: string
  /** Wait for another tab to close the same peer instead of failing with ERR_LOCKED. */
  wait?: boolean
  /** Gives up waiting (with `wait`). */
  signal?: AbortSignal
}

const STRICT = { durability: 'strict' } as const
/** Snapshot data is stored in pieces of about this size, one transaction each. */
const CHUNK_BYTES = 1 << 20
const EMPTY_HARD_STATE: HardState = { term: 0, vote: '', commit: 0 }

interface PendingSave {
  batch: SaveBatch
  resolve(): void
  reject(err: unknown): void
}

/** Opens the IndexedDB storage of `options.peerId`, taking its Web Lock first. */
export async function openIdbStorage(options: IdbStorageOptions): Promise<IdbStorage> {
  const { peerId } = options
  const release = await acquireWebLock(lockName(peerId), options.wait ?? false, options.signal)
  try {
    const db = await openDB<FlotillaDB>(dbName(peerId), DB_VERSION, {
      upgrade(db) {
        db.createObjectStore('entries', { keyPath: 'index' })
        db.createObjectStore('meta')
        db.createObjectStore('snapshotChunks')
      },
    })
    const tx = db.transaction(['entries', 'meta', 'snapshotChunks'], 'readwrite', STRICT)
    const meta = tx.objectStore('meta')
    const hardState = ((await meta.get('hardState')) as HardState | undefined) ?? EMPTY_HARD_STATE
    const firstIndex = ((await meta.get('firstIndex')) as number | undefined) ?? 1
    const snapshot = ((await meta.get('snapshot')) as SnapshotRecord | undefined) ?? null
    const lastCursor = await tx.objectStore('entries').openCursor(null, 'prev')
    const lastIndex = Math.max(lastCursor?.key ?? 0, firstIndex - 1)
    // Chunks of a snapshot whose write never finished (tab closed mid-way) are garbage.
    const chunks = tx.objectStore('snapshotChunks')
    const keep = snapshot?.id ?? 0
    await chunks.delete(IDBKeyRange.upperBound([keep, -1]))
    await chunks.delete(IDBKeyRange.lowerBound([keep, Number.MAX_SAFE_INTEGER]))
    await tx.done
    return new IdbStorage(peerId, db, release, { hardState, firstIndex, lastIndex, snapshot })
  } catch (err) {
    release()
    throw asStorageError(err, `opening the IndexedDB storage of peer ${peerId}`)
  }
}

interface Cached {
  hardState: HardState
  firstIndex: number
  lastIndex: number
  snapshot: SnapshotRecord | null
}

/**
 * Storage in IndexedDB (DESIGN §6). Each save is one readwrite transaction with strict
 * durability, resolved only when it has committed; saves queued meanwhile share the next one.
 */
export class IdbStorage implements Storage {
  private queue: PendingSave[] = []
  private flushing = false
  private mutex: Promise<void> = Promise.resolve()
  private closed = false
  /** Terms of entries read or written, so `term()` rarely touches the database. */
  private terms = new Map<number, number>()

  constructor(
    readonly peerId: string,
    private readonly db: IDBPDatabase<FlotillaDB>,
    private readonly releaseLock: () => void,
    private state: Cached,
  ) {}

  async load(): Promise<StoredState> {
    this.checkOpen()
    return {
      hardState: { ...this.state.hardState },
      snapshot: this.state.snapshot ? structuredClone(this.state.snapshot.meta) : null,
      firstIndex: this.state.firstIndex,
      lastIndex: this.state.lastIndex,
    }
  }

  save(batch: SaveBatch): Promise<void> {
    if (this.closed) return Promise.reject(closedError(this.peerId))
    return new Promise((resolve, reject) => {
      this.queue.push({ batch, resolve, reject })
      this.kick()
    })
  }

  async entries(lo: number, hi: number): Promise<Entry[]> {
    this.checkOpen()
    const { firstIndex, lastIndex } = this.state
    if (lo < firstIndex)
      throw new StorageError('ERR_COMPACTED', `index ${lo} is compacted (first ${firstIndex})`)
    if (hi > lastIndex + 1)
      throw new StorageError('ERR_UNAVAILABLE', `index ${hi - 1} is past the last index ${lastIndex}`)
    if (lo >= hi) return []
    const rows = await this.db.getAll('entries', IDBKeyRange.bound(lo, hi - 1))
    if (rows.length !== hi - lo || rows[0].index !== lo)
      throw new StorageError(
        'ERR_UNAVAILABLE',
        `entries [${lo}, ${hi}) changed while they were read; read again`,
      )
    return rows.map(toEntry)
  }

  async term(index: number): Promise<number | undefined> {
    this.checkOpen()
    const { snapshot, firstIndex, lastIndex } = this.state
    if (snapshot && index === snapshot.meta.index) return snapshot.meta.term
    if (index < firstIndex || index > lastIndex) return undefined
    const cached = this.terms.get(index)
    if (cached !== undefined) return cached
    const row = await this.db.get('entries', index)
    if (row && index >= this.state.firstIndex && index <= this.state.lastIndex)
      this.terms.set(index, row.term)
    return row?.term
  }

  async writeSnapshot(
    meta: SnapshotMeta,
    chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
    options: SnapshotWriteOptions = {},
  ): Promise<void> {
    this.checkOpen()
    // A fresh id per write, so the chunks of the current snapshot stay readable until the switch.
    const id = Date.now() * 1000 + Math.floor(Math.random() * 1000)
    let chunkCount = 0
    let size = 0
    try {
      for await (const piece of rechunk(chunks, CHUNK_BYTES)) {
        const tx = this.db.transaction('snapshotChunks', 'readwrite', STRICT)
        void tx.store.put(piece, [id, chunkCount])
        await tx.done
        chunkCount++
        size += piece.length
      }
    } catch (err) {
      await this.db
        .delete('snapshotChunks', IDBKeyRange.bound([id, 0], [id, Number.MAX_SAFE_INTEGER]))
        .catch(() => {})
      throw asStorageError(err, `writing the snapshot at index ${meta.index} of peer ${this.peerId}`)
    }
    await this.exclusive(async () => {
      this.checkOpen()
      const record: SnapshotRecord = { id, meta: structuredClone(meta), size, chunkCount }
      const old = this.state.snapshot?.id
      const tx = this.db.transaction(['entries', 'meta', 'snapshotChunks'], 'readwrite', STRICT)
      void tx.objectStore('meta').put(record, 'snapshot')
      if (old !== undefined)
        void tx
          .objectStore('snapshotChunks')
          .delete(IDBKeyRange.bound([old, 0], [old, Number.MAX_SAFE_INTEGER]))
      if (options.replaceLog) {
        void tx.objectStore('entries').clear()
        void tx.objectStore('meta').put(meta.index + 1, 'firstIndex')
      }
      await this.commit(tx, `installing the snapshot at index ${meta.index}`)
      this.state.snapshot = record
      if (options.replaceLog) {
        this.state.firstIndex = meta.index + 1
        this.state.lastIndex = meta.index
        this.terms.clear()
      }
    })
  }

  async readSnapshot(): Promise<StoredSnapshot | null> {
    this.checkOpen()
    const record = this.state.snapshot
    if (!record) return null
    const db = this.db
    const peerId = this.peerId
    return {
      meta: structuredClone(record.meta),
      size: record.size,
      async *chunks() {
        for (let i = 0; i < record.chunkCount; i++) {
          const chunk = await db.get('snapshotChunks', [record.id, i])
          if (!chunk)
            throw new StorageError(
              'ERR_UNAVAILABLE',
              `peer ${peerId}: the snapshot was replaced while it was read`,
            )
          yield chunk
        }
      },
    }
  }

  async compact(index: number): Promise<void> {
    this.checkOpen()
    await this.exclusive(async () => {
      this.checkOpen()
      if (index < this.state.firstIndex) return
      const snapIndex = this.state.snapshot?.meta.index ?? 0
      if (index > snapIndex)
        throw new StorageError('ERR_INVALID', `compact to ${index} past the snapshot at ${snapIndex}`)
      const tx = this.db.transaction(['entries', 'meta'], 'readwrite', STRICT)
      void tx.objectStore('entries').delete(IDBKeyRange.upperBound(index))
      void tx.objectStore('meta').put(index + 1, 'firstIndex')
      await this.commit(tx, `compacting to ${index}`)
      for (let i = this.state.firstIndex; i <= index; i++) this.terms.delete(i)
      this.state.firstIndex = index + 1
      this.state.lastIndex = Math.max(this.state.lastIndex, index)
    })
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    while (this.flushing || this.queue.length > 0) await this.exclusive(async () => {})
    await this.exclusive(async () => {
      this.db.close()
      this.releaseLock()
    })
  }

  private kick(): void {
    if (this.flushing) return
    this.flushing = true
    void this.exclusive(() => this.commitGroup()).finally(() => {
      this.flushing = false
      if (this.queue.length > 0) this.kick()
    })
  }

  /** Every queued save in one strict transaction; an invalid save is rejected alone. */
  private async commitGroup(): Promise<void> {
    const group: PendingSave[] = []
    let last = this.state.lastIndex
    const tx = this.db.transaction(['entries', 'meta'], 'readwrite', STRICT)
    const entries = tx.objectStore('entries')
    let hardState: HardState | undefined
    const written: Entry[] = []
    let cutFrom = Number.POSITIVE_INFINITY
    while (this.queue.length > 0) {
      const save = this.queue.shift()!
      const list = save.batch.entries ?? []
      const invalid = checkAppend(list, this.state.firstIndex, last)
      if (invalid) {
        save.reject(invalid)
        continue
      }
      group.push(save)
      if (list.length > 0) {
        const first = list[0].index
        if (first <= last) {
          // A conflicting suffix: drop it (from the store and from what this group wrote).
          void entries.delete(IDBKeyRange.lowerBound(first))
          cutFrom = Math.min(cutFrom, first)
          while (written.length > 0 && written[written.length - 1].index >= first) written.pop()
        }
        for (const e of list) {
          void entries.put({ index: e.index, term: e.term, type: e.type, data: e.data })
          written.push(e)
        }
        last = list[list.length - 1].index
      }
      if (save.batch.hardState) hardState = save.batch.hardState
    }
    if (hardState) void tx.objectStore('meta').put({ ...hardState }, 'hardState')
    try {
      await this.commit(tx, 'appending to the log')
    } catch (err) {
      for (const s of group) s.reject(err)
      return
    }
    for (const i of [...this.terms.keys()]) if (i >= cutFrom) this.terms.delete(i)
    for (const e of written) this.terms.set(e.index, e.term)
    this.state.lastIndex = last
    if (hardState) this.state.hardState = { ...hardState }
    for (const s of group) s.resolve()
  }

  /** Waits for a transaction; an abort (quota, I/O) leaves the database as it was. */
  private async commit(tx: { done: Promise<void>; abort(): void }, what: string): Promise<void> {
    try {
      await tx.done
    } catch (err) {
      throw asStorageError(err, `${what} for peer ${this.peerId}`)
    }
  }

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.mutex.then(work)
    this.mutex = run.then(
      () => {},
      () => {},
    )
    return run
  }

  private checkOpen(): void {
    if (this.closed) throw closedError(this.peerId)
  }
}

function closedError(peerId: string): StorageError {
  return new StorageError('ERR_CLOSED', `the storage of peer ${peerId} is closed`)
}

function toEntry(row: StoredEntry): Entry {
  return { index: row.index, term: row.term, type: row.type as EntryType, data: row.data }
}

/** Maps IndexedDB failures to stable codes: a full quota is ERR_QUOTA. */
export function asStorageError(err: unknown, what: string): StorageError {
  if (err instanceof StorageError) return err
  const name = (err as DOMException)?.name
  const message = `${what}: ${(err as Error)?.message || name || String(err)}`
  if (name === 'QuotaExceededError') return new StorageError('ERR_QUOTA', message)
  return new StorageError('ERR_UNAVAILABLE', message)
}

/** Re-chunks a stream into pieces of at most `size` bytes (and merges tiny ones). */
async function* rechunk(
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  size: number,
): AsyncIterable<Uint8Array> {
  let buf = new Uint8Array(size)
  let fill = 0
  for await (const chunk of chunks) {
    for (let at = 0; at < chunk.length; ) {
      const n = Math.min(size - fill, chunk.length - at)
      buf.set(chunk.subarray(at, at + n), fill)
      fill += n
      at += n
      if (fill === size) {
        yield buf
        buf = new Uint8Array(size)
        fill = 0
      }
    }
  }
  if (fill > 0) yield buf.slice(0, fill)
}
