import { dirname, join } from 'node:path'
import {
  checkAppend,
  checkSnapshotWrite,
  type Entry,
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
import { type FileLock, type FileSystem, nodeFileSystem } from './file-system.js'
import { storageError } from './files.js'
import { SegmentLog } from './segment-log.js'
import {
  installSnapshotFile,
  readSnapshotHeader,
  SnapshotFileWriter,
  type SnapshotHeader,
  snapshotReader,
  syncSnapshotFile,
} from './snapshot-file.js'

export interface FsStorageOptions {
  /** The data directory; created if missing. One open store at a time (an OS lock on LOCK guards it). */
  dir: string
  /** A segment that reaches this size is closed and a new one started. Default 64 MiB. */
  maxSegmentBytes?: number
  /** The file operations to use; default node:fs. The crash-model test passes a recorder. */
  fs?: FileSystem
  /**
   * Called once when the store fails for good (ERR_FATAL, e.g. a failed fsync). The process
   * should exit: nothing it reads from these files any more can be trusted (see the README).
   */
  onFatal?(err: StorageError): void
}

interface PendingSave {
  batch: SaveBatch
  resolve(): void
  reject(err: unknown): void
}

const WAL_DIR = 'wal'
export const LOCK_FILE = 'LOCK'
/** Past this many bytes a group commit stops taking more saves, so one frame stays bounded. */
const MAX_GROUP_BYTES = 32 * 1024 * 1024

/**
 * Opens (and recovers) the filesystem storage in `options.dir`. Before it returns, everything
 * it found and kept is durable: a record seen after a kill may have been only in the page cache,
 * and a peer must never act on state that a power loss could still take back.
 */
export async function openFsStorage(options: FsStorageOptions): Promise<FsStorage> {
  const { dir } = options
  const fs = options.fs ?? nodeFileSystem
  let lock: FileLock
  try {
    await fs.mkdir(dir)
    lock = await fs.lock(join(dir, LOCK_FILE))
  } catch (err) {
    throw storageError(err, `opening ${dir}`)
  }
  let log: SegmentLog | null = null
  try {
    const names = await fs.readdir(dir)
    // The first on-disk format kept the hard state in this file; ignoring it would forget a vote.
    if (names.includes('state'))
      throw new StorageError(
        'ERR_CORRUPT',
        `${join(dir, 'state')}: a store of the first on-disk format, which this version does not read`,
      )
    for (const name of names) if (name.endsWith('.tmp')) await fs.unlink(join(dir, name))
    const snapshot = await readSnapshotHeader(fs, dir)
    await fs.mkdir(join(dir, WAL_DIR))
    // The snapshot (its data and its name), the wal directory's entry and the data directory's
    // own entry may all be only in the page cache after a kill: make them durable first, and
    // the snapshot before a reset below comes to depend on it.
    await syncSnapshotFile(fs, dir)
    await fs.syncDir(dir)
    await fs.syncDir(dirname(dir))
    log = await SegmentLog.open(fs, join(dir, WAL_DIR), options.maxSegmentBytes ?? 64 << 20)
    // A crash in writeSnapshot(replaceLog) after the snapshot was installed: finish it.
    if (snapshot?.replaceLog && log.firstIndex <= snapshot.meta.index)
      await log.reset(snapshot.meta.index + 1)
    return new FsStorage(dir, fs, lock, log, snapshot, options.onFatal)
  } catch (err) {
    await log?.close()
    await lock.release()
    const e = storageError(err, `opening ${dir}`)
    // Recovery writes and syncs too: after an I/O error there, a retry in this process could
    // accept pages whose writeback failed (see FsStorage). Corruption and the lock are not that.
    if (e.code === 'ERR_CORRUPT' || e.code === 'ERR_LOCKED') throw e
    throw new StorageError('ERR_FATAL', `${e.message}; the process must exit before opening ${dir} again`)
  }
}

/**
 * Storage on a local filesystem (DESIGN §6): a segmented write-ahead log with group commit, in
 * which the hard state and compactions travel as frames too, and one snapshot file.
 *
 * Fail-stop: once a write, sync, rename or unlink of the live files fails, every call fails with
 * ERR_FATAL. After a failed fsync the kernel may have dropped the pages it could not write and
 * marked them clean, so neither retrying nor reopening in this process can tell what is on disk.
 */
export class FsStorage implements Storage {
  private queue: PendingSave[] = []
  private flushing = false
  /** Serializes everything that changes files: group commits, compaction, snapshot installs. */
  private mutex: Promise<void> = Promise.resolve()
  private closed = false
  /** Set when a change to the live files failed: fail-stop, see the class comment. */
  private fatal: StorageError | null = null
  private savesDone = 0
  private groupCommits = 0

  constructor(
    readonly dir: string,
    private readonly fs: FileSystem,
    private readonly lock: FileLock,
    private readonly log: SegmentLog,
    private snapshot: SnapshotHeader | null,
    private readonly onFatal?: (err: StorageError) => void,
  ) {}

  async load(): Promise<StoredState> {
    this.checkOpen()
    return {
      hardState: { ...this.log.hardState },
      snapshot: this.snapshot ? structuredClone(this.snapshot.meta) : null,
      firstIndex: this.log.firstIndex,
      lastIndex: this.log.lastIndex,
    }
  }

  save(batch: SaveBatch): Promise<void> {
    try {
      this.checkOpen()
    } catch (err) {
      return Promise.reject(err)
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ batch, resolve, reject })
      this.kick()
    })
  }

  async entries(lo: number, hi: number): Promise<Entry[]> {
    this.checkOpen()
    if (lo < this.log.firstIndex)
      throw new StorageError('ERR_COMPACTED', `index ${lo} is compacted (first ${this.log.firstIndex})`)
    if (hi > this.log.lastIndex + 1)
      throw new StorageError(
        'ERR_UNAVAILABLE',
        `index ${hi - 1} is past the last index ${this.log.lastIndex}`,
      )
    if (lo >= hi) return []
    return this.log.read(lo, hi)
  }

  async term(index: number): Promise<number | undefined> {
    this.checkOpen()
    if (this.snapshot && index === this.snapshot.meta.index) return this.snapshot.meta.term
    return this.log.term(index)
  }

  async writeSnapshot(
    meta: SnapshotMeta,
    chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
    options: SnapshotWriteOptions = {},
  ): Promise<void> {
    this.checkOpen()
    await writeSnapshotFrom(this, meta, chunks, options)
  }

  /**
   * Streams into a temporary file outside the mutex, so appends go on while a large snapshot is
   * written; the commit syncs it, renames it into place and syncs the directory.
   */
  async beginSnapshot(meta: SnapshotMeta): Promise<SnapshotWriter> {
    this.checkOpen()
    const what = `writing the snapshot at index ${meta.index} in ${this.dir}`
    let file: SnapshotFileWriter
    try {
      file = await SnapshotFileWriter.create(this.fs, this.dir, meta)
    } catch (err) {
      throw storageError(err, what)
    }
    let done = false
    const pending = () => {
      this.checkOpen()
      if (done) throw new StorageError('ERR_INVALID', `${what}: already committed or aborted`)
    }
    return {
      meta: structuredClone(meta),
      get size() {
        return file.size
      },
      write: async (offset: number, bytes: Uint8Array) => {
        pending()
        checkSnapshotWrite(offset, file.size)
        await file.write(bytes).catch((err) => {
          throw storageError(err, what)
        })
      },
      commit: async (options: SnapshotWriteOptions = {}) => {
        pending()
        done = true
        const replaceLog = options.replaceLog ?? false
        try {
          await file.finish(replaceLog)
        } catch (err) {
          await file.abort()
          throw storageError(err, what)
        }
        await this.installSnapshot(meta, file.path, replaceLog)
      },
      abort: async () => {
        if (done) return
        done = true
        await file.abort()
      },
    }
  }

  private async installSnapshot(meta: SnapshotMeta, tmp: string, replaceLog: boolean): Promise<void> {
    await this.exclusive(async () => {
      this.checkOpen()
      await this.guard(`installing the snapshot at index ${meta.index}`, async () => {
        await installSnapshotFile(this.fs, this.dir, tmp)
        this.snapshot = await readSnapshotHeader(this.fs, this.dir)
        // Recovery finishes this if a crash comes before it (see openFsStorage).
        if (replaceLog) await this.log.reset(meta.index + 1)
      })
    })
  }

  async readSnapshot(): Promise<StoredSnapshot | null> {
    this.checkOpen()
    return this.snapshot ? snapshotReader(this.fs, this.dir, this.snapshot) : null
  }

  async compact(index: number): Promise<void> {
    this.checkOpen()
    await this.exclusive(async () => {
      this.checkOpen()
      if (index < this.log.firstIndex) return
      const snapIndex = this.snapshot?.meta.index ?? 0
      if (index > snapIndex)
        throw new StorageError('ERR_INVALID', `compact to ${index} past the snapshot at ${snapIndex}`)
      await this.guard(`compacting to ${index}`, () => this.log.compact(index + 1))
    })
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    // Let queued saves finish: they were accepted before close.
    while (this.flushing || this.queue.length > 0) await this.exclusive(async () => {})
    await this.exclusive(async () => {
      await this.log.close()
      await this.lock.release()
    })
  }

  /** Number of segment files (for tests and metrics). */
  get segmentCount(): number {
    return this.log.segmentCount
  }

  /** Saves acknowledged and the group commits (log fdatasyncs) they took, for tests and metrics. */
  get stats(): { saves: number; groupCommits: number } {
    return { saves: this.savesDone, groupCommits: this.groupCommits }
  }

  private kick(): void {
    if (this.flushing) return
    this.flushing = true
    void this.exclusive(() => this.commitGroup()).finally(() => {
      this.flushing = false
      if (this.queue.length > 0) this.kick()
    })
  }

  /**
   * Group commit: every save queued so far becomes one frame and one fdatasync, the hard state
   * included when it changed. Saves that arrive meanwhile wait for the next group.
   */
  private async commitGroup(): Promise<void> {
    const group: PendingSave[] = []
    const entries: Entry[] = []
    let hardState: HardState | undefined
    let last = this.log.lastIndex
    let bytes = 0
    while (this.queue.length > 0 && (group.length === 0 || bytes < MAX_GROUP_BYTES)) {
      const save = this.queue.shift()!
      if (this.fatal) {
        save.reject(this.fatal)
        continue
      }
      const list = save.batch.entries ?? []
      const invalid = checkAppend(list, this.log.firstIndex, last)
      if (invalid) {
        save.reject(invalid)
        continue
      }
      group.push(save)
      for (const e of list) {
        entries.push(e)
        bytes += e.data.length + 25
      }
      if (list.length > 0) last = list[list.length - 1].index
      if (save.batch.hardState) hardState = save.batch.hardState
    }
    if (group.length === 0) return
    try {
      await this.guard('appending to the log', async () => {
        const changed = hardState && !sameHardState(hardState, this.log.hardState) ? hardState : undefined
        await this.log.append(entries, changed && { ...changed })
      })
    } catch (err) {
      for (const s of group) s.reject(err)
      return
    }
    this.groupCommits++
    this.savesDone += group.length
    for (const s of group) s.resolve()
  }

  /** Runs a change to the live files; a failure is fatal (fail-stop, see the class comment). */
  private async guard(what: string, work: () => Promise<void>): Promise<void> {
    try {
      await work()
    } catch (err) {
      if (!this.fatal) {
        const cause = storageError(err, `${what} in ${this.dir}`)
        this.fatal = new StorageError(
          'ERR_FATAL',
          `${cause.message} (${cause.code}); the store refuses every call, the process must exit and reopen it`,
        )
        this.onFatal?.(this.fatal)
      }
      throw this.fatal
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
    if (this.fatal) throw this.fatal
    if (this.closed) throw new StorageError('ERR_CLOSED', `storage ${this.dir} is closed`)
  }
}

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit
}
