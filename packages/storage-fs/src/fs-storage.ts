import { mkdir, readdir, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import {
  checkAppend,
  type Entry,
  type HardState,
  type SaveBatch,
  type SnapshotMeta,
  type SnapshotWriteOptions,
  type Storage,
  StorageError,
  type StoredSnapshot,
  type StoredState,
} from '@flotilla/core'
import { storageError } from './files.js'
import { acquireLock, type DirLock } from './lock.js'
import { SegmentLog } from './segment-log.js'
import {
  installSnapshotFile,
  readSnapshotHeader,
  type SnapshotHeader,
  snapshotReader,
  writeSnapshotTemp,
} from './snapshot-file.js'
import { type DirState, readState, writeState } from './state-file.js'

export interface FsStorageOptions {
  /** The data directory; created if missing. One process at a time (a LOCK file guards it). */
  dir: string
  /** A segment that reaches this size is closed and a new one started. Default 64 MiB. */
  maxSegmentBytes?: number
}

interface PendingSave {
  batch: SaveBatch
  resolve(): void
  reject(err: unknown): void
}

const WAL_DIR = 'wal'
/** Past this many bytes a group commit stops taking more saves, so one frame stays bounded. */
const MAX_GROUP_BYTES = 32 * 1024 * 1024

/** Opens (and recovers) the filesystem storage in `options.dir`. */
export async function openFsStorage(options: FsStorageOptions): Promise<FsStorage> {
  const { dir } = options
  await mkdir(dir, { recursive: true })
  const lock = await acquireLock(dir)
  try {
    for (const name of await readdir(dir)) if (name.endsWith('.tmp')) await unlink(join(dir, name))
    let state = await readState(dir)
    const snapshot = await readSnapshotHeader(dir)
    const log = await SegmentLog.open(
      join(dir, WAL_DIR),
      state.firstIndex,
      options.maxSegmentBytes ?? 64 << 20,
    )
    // A crash in the middle of writeSnapshot(replaceLog) after the snapshot was installed: finish it.
    if (snapshot?.replaceLog && state.firstIndex <= snapshot.meta.index) {
      await log.reset(snapshot.meta.index + 1)
      state = { ...state, firstIndex: snapshot.meta.index + 1 }
      await writeState(dir, state)
    }
    return new FsStorage(dir, lock, log, state, snapshot)
  } catch (err) {
    await lock.release()
    throw err instanceof StorageError ? err : storageError(err, `opening ${dir}`)
  }
}

/**
 * Storage on a local filesystem (DESIGN §6): a segmented write-ahead log with group commit,
 * an atomically replaced state file (hard state + first index) and one snapshot file.
 */
export class FsStorage implements Storage {
  private queue: PendingSave[] = []
  private flushing = false
  /** Serializes everything that changes files: group commits, compaction, snapshot installs. */
  private mutex: Promise<void> = Promise.resolve()
  private closed = false
  /** Set when a write or sync failed: the files' state is unknown until reopened. */
  private failed: StorageError | null = null
  private savesDone = 0
  private groupCommits = 0

  constructor(
    readonly dir: string,
    private readonly lock: DirLock,
    private readonly log: SegmentLog,
    private state: DirState,
    private snapshot: SnapshotHeader | null,
  ) {}

  async load(): Promise<StoredState> {
    this.checkOpen()
    return {
      hardState: { ...this.state.hardState },
      snapshot: this.snapshot ? structuredClone(this.snapshot.meta) : null,
      firstIndex: this.log.firstIndex,
      lastIndex: this.log.lastIndex,
    }
  }

  save(batch: SaveBatch): Promise<void> {
    try {
      this.checkWritable()
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
    this.checkWritable()
    const replaceLog = options.replaceLog ?? false
    // Stream outside the mutex so appends go on while a large snapshot is written.
    let tmp: string
    try {
      tmp = await writeSnapshotTemp(this.dir, meta, replaceLog, chunks)
    } catch (err) {
      throw storageError(err, `writing the snapshot at index ${meta.index} in ${this.dir}`)
    }
    await this.exclusive(async () => {
      this.checkWritable()
      await this.guard(`installing the snapshot at index ${meta.index}`, async () => {
        await installSnapshotFile(this.dir, tmp)
        this.snapshot = await readSnapshotHeader(this.dir)
        if (replaceLog) {
          // Recovery repeats these two steps if a crash comes between them (see openFsStorage).
          await this.log.reset(meta.index + 1)
          this.state = { ...this.state, firstIndex: meta.index + 1 }
          await writeState(this.dir, this.state)
        }
      })
    })
  }

  async readSnapshot(): Promise<StoredSnapshot | null> {
    this.checkOpen()
    return this.snapshot ? snapshotReader(this.dir, this.snapshot) : null
  }

  async compact(index: number): Promise<void> {
    this.checkWritable()
    await this.exclusive(async () => {
      this.checkWritable()
      if (index < this.log.firstIndex) return
      const snapIndex = this.snapshot?.meta.index ?? 0
      if (index > snapIndex)
        throw new StorageError('ERR_INVALID', `compact to ${index} past the snapshot at ${snapIndex}`)
      await this.guard(`compacting to ${index}`, async () => {
        // Record the new first index before deleting anything it makes unreachable.
        this.state = { ...this.state, firstIndex: index + 1 }
        await writeState(this.dir, this.state)
        await this.log.compact(index + 1)
      })
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
   * Group commit: every save queued so far becomes one frame, one fdatasync and at most one
   * state-file replacement. Saves that arrive meanwhile wait for the next group.
   */
  private async commitGroup(): Promise<void> {
    const group: PendingSave[] = []
    const entries: Entry[] = []
    let hardState: HardState | undefined
    let last = this.log.lastIndex
    let bytes = 0
    while (this.queue.length > 0 && (group.length === 0 || bytes < MAX_GROUP_BYTES)) {
      const save = this.queue.shift()!
      if (this.failed) {
        save.reject(this.failed)
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
        await this.log.append(entries)
        if (hardState && !sameHardState(hardState, this.state.hardState)) {
          const next = { ...this.state, hardState: { ...hardState } }
          await writeState(this.dir, next)
          this.state = next
        }
      })
    } catch (err) {
      for (const s of group) s.reject(err)
      return
    }
    this.groupCommits++
    this.savesDone += group.length
    for (const s of group) s.resolve()
  }

  /** Runs file work; a failure poisons the store, since what reached the disk is unknown. */
  private async guard(what: string, work: () => Promise<void>): Promise<void> {
    try {
      await work()
    } catch (err) {
      const e = storageError(err, `${what} in ${this.dir}`)
      this.failed = new StorageError(e.code, `${e.message} (the storage must be reopened)`)
      throw e
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
    if (this.closed) throw new StorageError('ERR_CLOSED', `storage ${this.dir} is closed`)
  }

  private checkWritable(): void {
    this.checkOpen()
    if (this.failed) throw this.failed
  }
}

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit
}
