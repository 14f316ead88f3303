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
  /** The whole snapshot as a stream of pieces (never all in memory at once). */
  chunks(): AsyncIterable<Uint8Array>
  /**
   * The bytes [offset, offset + length) of this snapshot (a leader sends a chunk at a time).
   * Rejects with `ERR_INVALID` if the range is not inside it and with `ERR_UNAVAILABLE` once
   * another snapshot has replaced it.
   */
  read(offset: number, length: number): Promise<Uint8Array>
}

/**
 * An incoming snapshot written as its chunks arrive (`Storage.beginSnapshot`). Nothing of it is
 * visible to `load()` or `readSnapshot()` until `commit()`: after `abort()`, a failure or a
 * crash, the stored snapshot and log are as they were, and the next open discards the pieces.
 */
export interface SnapshotWriter {
  readonly meta: SnapshotMeta
  /** Bytes written so far. */
  readonly size: number
  /**
   * Appends `bytes`, which must start at `offset === size` (`ERR_INVALID` otherwise). Resolves
   * once they are in the store; they need not be synced yet: a partial write never survives a
   * restart, so commit() syncs them all at once.
   */
  write(offset: number, bytes: Uint8Array): Promise<void>
  /** Makes the snapshot durable and current, as `writeSnapshot` does with the same options. */
  commit(options?: SnapshotWriteOptions): Promise<void>
  /** Discards what was written; a no-op after commit or abort. */
  abort(): Promise<void>
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
  /** Writes a whole snapshot and makes it current once durable (see `writeSnapshotFrom`). */
  writeSnapshot(
    meta: SnapshotMeta,
    chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
    options?: SnapshotWriteOptions,
  ): Promise<void>
  /** Starts writing a snapshot piece by piece (one received from the leader). */
  beginSnapshot(meta: SnapshotMeta): Promise<SnapshotWriter>
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

/**
 * `writeSnapshot` through a store's own `beginSnapshot`: every implementation writes a whole
 * snapshot this way, so the two paths cannot drift apart.
 */
export async function writeSnapshotFrom(
  storage: Pick<Storage, 'beginSnapshot'>,
  meta: SnapshotMeta,
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  options?: SnapshotWriteOptions,
): Promise<void> {
  const writer = await storage.beginSnapshot(meta)
  try {
    for await (const chunk of chunks) if (chunk.length > 0) await writer.write(writer.size, chunk)
    await writer.commit(options)
  } catch (err) {
    await writer.abort().catch(() => {})
    throw err
  }
}

/** The check every `StoredSnapshot.read` starts with. */
export function checkSnapshotRange(offset: number, length: number, size: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0)
    throw new StorageError('ERR_INVALID', `snapshot range [${offset}, +${length}) is not a byte range`)
  if (offset + length > size)
    throw new StorageError(
      'ERR_INVALID',
      `snapshot range [${offset}, +${length}) runs past its ${size} bytes`,
    )
}

/** The check every `SnapshotWriter.write` starts with. */
export function checkSnapshotWrite(offset: number, size: number): void {
  if (offset !== size)
    throw new StorageError(
      'ERR_INVALID',
      `snapshot write at ${offset}, expected ${size} (writes are in order)`,
    )
}
