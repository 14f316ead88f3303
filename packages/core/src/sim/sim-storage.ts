import type { SnapshotMeta } from '../raft/messages.js'
import { MemoryStorage } from '../storage/memory-storage.js'
import type {
  SaveBatch,
  SnapshotWriteOptions,
  SnapshotWriter,
  Storage,
  StoredSnapshot,
  StoredState,
} from '../storage/storage.js'
import { StorageError } from '../storage/storage.js'

/** The simulator's event queue, as storage and the network see it. */
export interface Scheduler {
  readonly now: number
  at(time: number, fn: () => void): void
}

/**
 * A peer's disk: `durable` holds only what a sync completed. Each open hands out a SimStorage
 * whose calls complete through the simulator's queue after a drawn delay; a crash abandons the
 * calls still pending, so an unsynced write is lost exactly as on a real disk.
 */
export class SimDisk {
  readonly durable = new MemoryStorage()
  private handle: SimStorage | null = null

  constructor(
    private readonly sched: Scheduler,
    private readonly syncDelay: () => number,
  ) {}

  open(): SimStorage {
    this.handle?.crash()
    this.durable.reopen()
    this.handle = new SimStorage(this.durable, this.sched, this.syncDelay)
    return this.handle
  }

  crash(): void {
    this.handle?.crash()
    this.handle = null
  }
}

export class SimStorage implements Storage {
  private lost = false
  private closed = false
  /** Calls complete in call order, as the Storage contract asks of saves. */
  private lastAt = 0

  constructor(
    private readonly durable: MemoryStorage,
    private readonly sched: Scheduler,
    private readonly syncDelay: () => number,
  ) {}

  /** Everything not yet completed never will be. */
  crash(): void {
    this.lost = true
  }

  private later<T>(delayMs: number, op: () => Promise<T>): Promise<T> {
    if (this.closed || this.lost) return Promise.reject(new StorageError('ERR_CLOSED', 'storage is closed'))
    const at = Math.max(this.lastAt, this.sched.now + delayMs)
    this.lastAt = at
    return new Promise<T>((resolve, reject) => {
      this.sched.at(at, () => {
        if (!this.lost) op().then(resolve, reject)
      })
    })
  }

  load(): Promise<StoredState> {
    return this.later(0, () => this.durable.load())
  }

  save(batch: SaveBatch): Promise<void> {
    // Copied now: the caller may reuse its arrays while the write is in flight.
    const copy: SaveBatch = {
      ...(batch.entries ? { entries: batch.entries.map((e) => ({ ...e })) } : {}),
      ...(batch.hardState ? { hardState: { ...batch.hardState } } : {}),
    }
    return this.later(this.syncDelay(), () => this.durable.save(copy))
  }

  entries(lo: number, hi: number) {
    return this.later(0, () => this.durable.entries(lo, hi))
  }

  term(index: number) {
    return this.later(0, () => this.durable.term(index))
  }

  async writeSnapshot(
    meta: SnapshotMeta,
    chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
    options?: SnapshotWriteOptions,
  ): Promise<void> {
    const parts: Uint8Array[] = []
    for await (const c of chunks) parts.push(c)
    const copy = structuredClone(meta)
    // A whole file written, synced and renamed into place: several syncs, not one.
    return this.later(this.syncDelay() * 4, () => this.durable.writeSnapshot(copy, parts, options))
  }

  /** Pieces land at once; a commit costs what a whole snapshot write does. A crash loses them. */
  async beginSnapshot(meta: SnapshotMeta): Promise<SnapshotWriter> {
    const inner = await this.later(0, () => this.durable.beginSnapshot(structuredClone(meta)))
    return {
      meta: inner.meta,
      get size() {
        return inner.size
      },
      write: (offset, bytes) => {
        const copy = bytes.slice()
        return this.later(0, () => inner.write(offset, copy))
      },
      commit: (options) => this.later(this.syncDelay() * 4, () => inner.commit(options)),
      abort: () => inner.abort(),
    }
  }

  async readSnapshot(): Promise<StoredSnapshot | null> {
    const snap = await this.later(0, () => this.durable.readSnapshot())
    if (!snap) return null
    return { ...snap, read: (offset, length) => this.later(0, () => snap.read(offset, length)) }
  }

  compact(index: number): Promise<void> {
    return this.later(this.syncDelay(), () => this.durable.compact(index))
  }

  async close(): Promise<void> {
    this.closed = true
  }
}
