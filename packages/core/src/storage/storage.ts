import type { Entry, HardState, SnapshotMeta } from '../raft/messages.js'

/** What a peer finds in its storage when it starts. */
export interface StoredState {
  hardState: HardState
  /** The latest snapshot's metadata, if one was ever saved. */
  snapshot: SnapshotMeta | null
  /** First index held in the log (snapshot index + 1 when the log starts after a snapshot). */
  firstIndex: number
  /** Last index held in the log, or the snapshot index (or 0) when the log is empty. */
  lastIndex: number
}

/** One durable batch: everything one `Ready` asks to persist. */
export interface SaveBatch {
  /**
   * Entries to append. If `entries[0].index` is at or below the last index, the stored suffix
   * from that index on is replaced (a conflicting suffix is truncated first).
   */
  entries?: Entry[]
  hardState?: HardState
}

export interface SnapshotWriteOptions {
  /**
   * An incoming snapshot from the leader replaces the whole log: every entry is discarded and
   * the log restarts at `meta.index + 1`. A locally taken snapshot keeps the log (compact it
   * separately).
   */
  replaceLog?: boolean
}

export interface StoredSnapshot {
  meta: SnapshotMeta
  /** Total size in bytes. */
  size: number
  chunks(): AsyncIterable<Uint8Array>
}

/**
 * Durable Raft storage (DESIGN §6). A promise that resolves means synced: `fdatasync` on a
 * filesystem, a committed strict-durability transaction in IndexedDB. After a crash at any
 * byte, `load()` returns every synced record and never a torn one.
 *
 * Every implementation passes the same conformance suite
 * (`@flotilla/core/test-support/storage-conformance`). Calls may overlap: saves apply in call
 * order (implementations may share one sync among saves in flight), and reads see every save
 * that has resolved. Once `close()` is called every other call fails with `ERR_CLOSED`.
 */
export interface Storage {
  load(): Promise<StoredState>
  /**
   * Persists a batch: entries (consecutive indices) and/or the hard state, all or nothing.
   * Rejects with `ERR_COMPACTED` if the entries start below the first index and with
   * `ERR_INVALID` if they leave a gap or skip an index; an invalid batch changes nothing and
   * does not affect other saves.
   */
  save(batch: SaveBatch): Promise<void>
  /**
   * Entries in [lo, hi) (empty when `lo >= hi`). Throws StorageError `ERR_COMPACTED` below the
   * first index and `ERR_UNAVAILABLE` past the last index.
   */
  entries(lo: number, hi: number): Promise<Entry[]>
  /** Term of the entry at `index`, the snapshot term at the snapshot index, else undefined. */
  term(index: number): Promise<number | undefined>
  writeSnapshot(
    meta: SnapshotMeta,
    chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
    options?: SnapshotWriteOptions,
  ): Promise<void>
  readSnapshot(): Promise<StoredSnapshot | null>
  /**
   * Drops entries with index <= `index` (a no-op below the first index); `index` must not
   * exceed the snapshot index (`ERR_INVALID`). The first index becomes `index + 1`.
   */
  compact(index: number): Promise<void>
  close(): Promise<void>
  /**
   * Optional: resolves with the error when the store fails on its own (its lock was taken, the
   * browser closed the database, the tab was frozen). The peer stops on it at once.
   */
  readonly failed?: Promise<StorageError>
}

export type StorageErrorCode =
  | 'ERR_COMPACTED'
  | 'ERR_UNAVAILABLE'
  | 'ERR_CORRUPT'
  | 'ERR_LOCKED'
  | 'ERR_QUOTA'
  | 'ERR_CLOSED'
  | 'ERR_INVALID'
  /**
   * The store hit an I/O error it cannot recover from in this process (a failed fsync: the
   * kernel may have dropped the unwritten pages, so re-reading them proves nothing). The store
   * refuses every further call; the process must exit and reopen the store in a new one.
   */
  | 'ERR_FATAL'

export class StorageError extends Error {
  constructor(
    readonly code: StorageErrorCode,
    message: string,
  ) {
    super(message)
    this.name = 'StorageError'
  }
}
