import {
  checkSnapshotRange,
  type Entry,
  type EntryType,
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
import { type IDBPDatabase, type IDBPObjectStore, type StoreNames, unwrap } from 'idb'
import { asStorageError, closedError, connectionLostError, fencedError, frozenError } from './errors.js'
import { buildGroup, type PendingSave } from './group-commit.js'
import { PieceCache } from './piece-cache.js'
import type { FlotillaDB, SnapshotRecord, StoredEntry } from './schema.js'
import { IdbSnapshotWriter, PIECE_BYTES } from './snapshot-writer.js'
import type { HeldLock } from './web-lock.js'
import { WriteTx } from './write-tx.js'

export interface Cached {
  hardState: HardState
  firstIndex: number
  lastIndex: number
  snapshot: SnapshotRecord | null
}

type Stores = (keyof FlotillaDB & string)[]

/**
 * Storage in IndexedDB (DESIGN §6). Each save is one readwrite transaction with strict
 * durability, resolved only when it has committed; saves queued meanwhile share the next one.
 * The store fails (see `failed`) when it can no longer be the peer's only writer.
 */
export class IdbStorage implements Storage {
  /**
   * Resolves with the error that ended the store when it fails on its own: its Web Lock taken
   * (ERR_LOCKED), the connection closed by the browser or the tab frozen (ERR_UNAVAILABLE),
   * another connection upgrading or deleting the database (ERR_CLOSED). By then every pending
   * call has been rejected with that error, the database is closed and the lock released;
   * later calls fail with it too. Never resolves if the owner calls `close()` first.
   */
  readonly failed: Promise<StorageError>
  private markFailed: (err: StorageError) => void = () => {}
  private failure: StorageError | null = null
  /** Rejects with the failure as soon as the store fails, whoever closed it. */
  private readonly failing: Promise<never>
  private rejectFailing: (err: StorageError) => void = () => {}
  private closing = false
  private closeDone: Promise<void> | null = null
  private finished = false
  private queue: PendingSave[] = []
  private flushing = false
  private mutex: Promise<void> = Promise.resolve()
  /** Write transactions in flight: aborted if the store fails, waited for by close(). */
  private inFlight = new Set<WriteTx>()
  /** Terms of entries read or written, so `term()` rarely touches the database. */
  private terms = new Map<number, number>()
  /** Snapshot pieces lately read for chunks (see PieceCache). */
  private readonly recentPieces = new PieceCache(4)
  private readonly onFreeze = () => this.fail(frozenError(this.peerId))

  constructor(
    readonly peerId: string,
    private readonly db: IDBPDatabase<FlotillaDB>,
    private readonly lock: HeldLock,
    private state: Cached,
    /** This opener's token in the database (see WriteTx). */
    private readonly writer: string,
    subscribe: (fail: (err: StorageError) => void) => void,
  ) {
    this.failed = new Promise((resolve) => {
      this.markFailed = resolve
    })
    this.failing = new Promise<never>((_, reject) => {
      this.rejectFailing = reject
    })
    this.failing.catch(() => {})
    subscribe((err) => this.fail(err))
    // A frozen tab would keep the peer from every other tab: let go instead (README).
    globalThis.document?.addEventListener('freeze', this.onFreeze)
  }

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
    if (this.closing) return Promise.reject(this.refusal())
    return new Promise((resolve, reject) => {
      this.queue.push({ batch, resolve, reject })
      this.kick()
    })
  }

  async entries(lo: number, hi: number): Promise<Entry[]> {
    this.checkOpen()
    checkIndex('lo', lo)
    checkIndex('hi', hi)
    const { firstIndex, lastIndex } = this.state
    if (lo < firstIndex)
      throw new StorageError('ERR_COMPACTED', `index ${lo} is compacted (first ${firstIndex})`)
    if (hi > lastIndex + 1)
      throw new StorageError('ERR_UNAVAILABLE', `index ${hi - 1} is past the last index ${lastIndex}`)
    if (lo >= hi) return []
    const rows = await this.read(`reading entries [${lo}, ${hi})`, 'entries', (store) =>
      store.getAll(IDBKeyRange.bound(lo, hi - 1)),
    )
    if (rows.length !== hi - lo || rows[0].index !== lo)
      throw new StorageError(
        'ERR_UNAVAILABLE',
        `entries [${lo}, ${hi}) changed while they were read; read again`,
      )
    return rows.map(toEntry)
  }

  async term(index: number): Promise<number | undefined> {
    this.checkOpen()
    checkIndex('index', index)
    const { snapshot, firstIndex, lastIndex } = this.state
    if (snapshot && index === snapshot.meta.index) return snapshot.meta.term
    if (index < firstIndex || index > lastIndex) return undefined
    const cached = this.terms.get(index)
    if (cached !== undefined) return cached
    const row = await this.read(`reading the term at ${index}`, 'entries', (store) => store.get(index))
    if (row && index >= this.state.firstIndex && index <= this.state.lastIndex)
      this.terms.set(index, row.term)
    return row?.term
  }

  writeSnapshot(
    meta: SnapshotMeta,
    chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
    options: SnapshotWriteOptions = {},
  ): Promise<void> {
    if (this.closing) return Promise.reject(this.refusal())
    return writeSnapshotFrom(this, meta, chunks, options)
  }

  async beginSnapshot(meta: SnapshotMeta): Promise<SnapshotWriter> {
    this.checkOpen()
    return new IdbSnapshotWriter(this, structuredClone(meta))
  }

  async readSnapshot(): Promise<StoredSnapshot | null> {
    this.checkOpen()
    const record = this.state.snapshot
    if (!record) return null
    const pieces = async (first: number, last: number, cache = false) => {
      this.checkOpen()
      const cached =
        cache && this.state.snapshot?.id === record.id
          ? this.recentPieces.get(record.id, first, last)
          : undefined
      if (cached) return cached
      const what = `reading snapshot pieces ${first} to ${last}`
      const rows =
        this.state.snapshot?.id !== record.id
          ? []
          : await this.read(what, 'snapshotChunks', (store) =>
              store.getAll(IDBKeyRange.bound([record.id, first], [record.id, last])),
            )
      if (rows.length !== last - first + 1)
        throw new StorageError(
          'ERR_UNAVAILABLE',
          `peer ${this.peerId}: the snapshot was replaced while it was read`,
        )
      if (cache) this.recentPieces.put(record.id, first, rows)
      return rows
    }
    return {
      meta: structuredClone(record.meta),
      size: record.size,
      async *chunks() {
        for (let i = 0; i < record.chunkCount; i++) yield (await pieces(i, i))[0]
      },
      async read(offset, length) {
        checkSnapshotRange(offset, length, record.size)
        if (length === 0) return new Uint8Array(0)
        // Every piece but the last is PIECE_BYTES long (stores of every version).
        const first = Math.floor(offset / PIECE_BYTES)
        const rows = await pieces(first, Math.floor((offset + length - 1) / PIECE_BYTES), true)
        const out = new Uint8Array(length)
        let at = 0
        for (const [i, row] of rows.entries()) {
          const from = i === 0 ? offset - first * PIECE_BYTES : 0
          const part = row.subarray(from, from + length - at)
          out.set(part, at)
          at += part.length
        }
        return out
      },
    }
  }

  /** For IdbSnapshotWriter. */
  async putPiece(id: number, n: number, piece: Uint8Array): Promise<void> {
    const tx = this.begin(['snapshotChunks'])
    tx.store('snapshotChunks').put(piece, [id, n])
    await this.commit(tx, `writing snapshot piece ${n}`)
  }

  /** For IdbSnapshotWriter. */
  async installRecord(record: SnapshotRecord, options: SnapshotWriteOptions): Promise<void> {
    const { meta } = record
    await this.exclusive(async () => {
      this.checkOpen()
      const old = this.state.snapshot?.id
      const tx = this.begin(['entries', 'meta', 'snapshotChunks'])
      tx.store('meta').put(record, 'snapshot')
      if (old !== undefined)
        tx.store('snapshotChunks').delete(IDBKeyRange.bound([old, 0], [old, Number.MAX_SAFE_INTEGER]))
      if (options.replaceLog) {
        tx.store('entries').clear()
        tx.store('meta').put(meta.index + 1, 'firstIndex')
      }
      await this.commit(tx, `installing the snapshot at index ${meta.index}`)
      this.recentPieces.clear()
      this.state.snapshot = record
      if (options.replaceLog) {
        this.state.firstIndex = meta.index + 1
        this.state.lastIndex = meta.index
        this.terms.clear()
      }
    })
  }

  /** For IdbSnapshotWriter: after close() or a failure, the next open removes them instead. */
  async discardPieces(id: number): Promise<void> {
    if (this.closing) return
    await this.db
      .delete('snapshotChunks', IDBKeyRange.bound([id, 0], [id, Number.MAX_SAFE_INTEGER]))
      .catch(() => {})
  }

  async compact(index: number): Promise<void> {
    this.checkOpen()
    checkIndex('index', index)
    await this.exclusive(async () => {
      this.checkOpen()
      if (index < this.state.firstIndex) return
      const snapIndex = this.state.snapshot?.meta.index ?? 0
      if (index > snapIndex)
        throw new StorageError('ERR_INVALID', `compact to ${index} past the snapshot at ${snapIndex}`)
      const tx = this.begin(['entries', 'meta'])
      tx.store('entries').delete(IDBKeyRange.upperBound(index))
      tx.store('meta').put(index + 1, 'firstIndex')
      await this.commit(tx, `compacting to ${index}`)
      for (let i = this.state.firstIndex; i <= index; i++) this.terms.delete(i)
      this.state.firstIndex = index + 1
      this.state.lastIndex = Math.max(this.state.lastIndex, index)
    })
  }

  /**
   * Waits for queued saves and for every write transaction in flight (a snapshot write stops at
   * its next chunk with ERR_CLOSED), then closes the database and lets go of the lock.
   */
  close(): Promise<void> {
    this.closeDone ??= this.drainAndFinish()
    return this.closeDone
  }

  private async drainAndFinish(): Promise<void> {
    this.closing = true
    while (this.flushing || this.queue.length > 0) await this.exclusive(async () => {})
    await this.exclusive(async () => {})
    await this.untilFailure(Promise.all([...this.inFlight].map((tx) => tx.outcome))).catch(() => {})
    this.finish()
  }

  /** Ends the store on a fault: every pending and later call fails with `err`. */
  private fail(err: StorageError): void {
    if (this.failure || this.finished) return
    this.failure = err
    const owned = !this.closing
    this.closing = true
    for (const tx of this.inFlight) tx.abort()
    for (const save of this.queue.splice(0)) save.reject(err)
    this.rejectFailing(err)
    this.finish()
    if (owned) this.markFailed(err)
  }

  private finish(): void {
    if (this.finished) return
    this.finished = true
    globalThis.document?.removeEventListener('freeze', this.onFreeze)
    this.db.close()
    this.lock.release()
  }

  private kick(): void {
    if (this.flushing) return
    this.flushing = true
    this.exclusive(() => this.commitGroup())
      // Only the connection itself can fail here (commitGroup settles every save it takes).
      .catch((err: unknown) => this.fail(asStorageError(err, `writing the log of peer ${this.peerId}`)))
      .finally(() => {
        this.flushing = false
        if (this.queue.length > 0 && !this.failure) this.kick()
      })
  }

  /** Every queued save in one strict transaction (see buildGroup). */
  private async commitGroup(): Promise<void> {
    if (this.queue.length === 0) return
    const tx = this.begin(['entries', 'meta'])
    const { firstIndex, lastIndex } = this.state
    const group = buildGroup(
      tx,
      this.queue,
      firstIndex,
      lastIndex,
      `saving to the log of peer ${this.peerId}`,
    )
    if (!group) return
    try {
      await this.commit(tx, 'appending to the log')
    } catch (err) {
      for (const s of group.saves) s.reject(err)
      return
    }
    for (const i of [...this.terms.keys()]) if (i >= group.cutFrom) this.terms.delete(i)
    for (const e of group.written) this.terms.set(e.index, e.term)
    this.state.lastIndex = group.lastIndex
    if (group.hardState) this.state.hardState = { ...group.hardState }
    for (const s of group.saves) s.resolve()
  }

  /** A write transaction (fenced when it touches `meta`); a closed connection fails the store. */
  private begin(stores: Stores): WriteTx {
    try {
      const tx = new WriteTx(unwrap(this.db), stores, this.writer)
      this.inFlight.add(tx)
      void tx.outcome.then(() => this.inFlight.delete(tx))
      return tx
    } catch {
      const lost = this.failure ?? connectionLostError(this.peerId)
      this.fail(lost)
      throw lost
    }
  }

  /** Waits for a transaction; an abort (quota, I/O, fence) leaves the database as it was. */
  private async commit(tx: WriteTx, what: string): Promise<void> {
    const error = await this.untilFailure(tx.outcome)
    if (!error) return
    if (tx.fenced) this.fail(fencedError(this.peerId))
    throw this.failure ?? asStorageError(error, `${what} for peer ${this.peerId}`)
  }

  /** A read through idb; its failures (a closed connection, an abort) become StorageErrors. */
  private async read<T, S extends StoreNames<FlotillaDB>>(
    what: string,
    storeName: S,
    work: (store: IDBPObjectStore<FlotillaDB, [S], S, 'readonly'>) => Promise<T>,
  ): Promise<T> {
    try {
      const tx = this.db.transaction(storeName, 'readonly')
      // idb rejects `done` of an aborted transaction whether or not anyone waits for it.
      tx.done.catch(() => {})
      return await this.untilFailure(work(tx.store))
    } catch (err) {
      throw this.failure ?? asStorageError(err, `${what} of peer ${this.peerId}`)
    }
  }

  /**
   * Settles with `work`, or with the failure if the store fails first: after a forced close,
   * Chromium may never answer a transaction or request that was in flight.
   */
  private untilFailure<T>(work: Promise<T>): Promise<T> {
    return Promise.race([work, this.failing])
  }

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.mutex.then(work)
    this.mutex = run.then(
      () => {},
      () => {},
    )
    return run
  }

  private refusal(): StorageError {
    return this.failure ?? closedError(this.peerId)
  }

  checkOpen(): void {
    if (this.closing) throw this.refusal()
  }
}

/** Indices are integers; anything else (NaN above all) would reach IndexedDB as a bad key. */
function checkIndex(name: string, value: number): void {
  if (!Number.isSafeInteger(value))
    throw new StorageError('ERR_INVALID', `${name} must be an integer, got ${value}`)
}

function toEntry(row: StoredEntry): Entry {
  return { index: row.index, term: row.term, type: row.type as EntryType, data: row.data }
}
