import { concatBytes } from '../bytes.js'
import type { Entry, HardState, SnapshotMeta } from '../raft/messages.js'
import { checkAppend } from './check-append.js'
import {
  checkSnapshotRange,
  checkSnapshotWrite,
  type SaveBatch,
  type SnapshotWriteOptions,
  type SnapshotWriter,
  type Storage,
  StorageError,
  type StoredSnapshot,
  type StoredState,
  writeSnapshotFrom,
} from './storage.js'

const EMPTY_HARD_STATE: HardState = { term: 0, vote: '', commit: 0 }

/** Durable storage kept in memory: the reference for the conformance suite and for tests. */
export class MemoryStorage implements Storage {
  private hardState: HardState = EMPTY_HARD_STATE
  private snapshotMeta: SnapshotMeta | null = null
  private snapshotData: Uint8Array = new Uint8Array(0)
  /** log[i] holds index offset + i. */
  private log: Entry[] = []
  private offset = 1
  private closed = false

  async load(): Promise<StoredState> {
    this.checkOpen()
    return {
      hardState: { ...this.hardState },
      snapshot: this.snapshotMeta ? structuredClone(this.snapshotMeta) : null,
      firstIndex: this.offset,
      lastIndex: this.offset + this.log.length - 1,
    }
  }

  async save(batch: SaveBatch): Promise<void> {
    this.checkOpen()
    const entries = batch.entries ?? []
    const invalid = checkAppend(entries, this.offset, this.offset + this.log.length - 1)
    if (invalid) throw invalid
    if (entries.length > 0) {
      const first = entries[0].index
      this.log = this.log.slice(0, first - this.offset).concat(entries.map((e) => ({ ...e })))
    }
    if (batch.hardState) this.hardState = { ...batch.hardState }
  }

  async entries(lo: number, hi: number): Promise<Entry[]> {
    this.checkOpen()
    if (lo < this.offset)
      throw new StorageError('ERR_COMPACTED', `index ${lo} is compacted (first ${this.offset})`)
    const last = this.offset + this.log.length - 1
    if (hi > last + 1)
      throw new StorageError('ERR_UNAVAILABLE', `index ${hi - 1} is past the last index ${last}`)
    if (lo >= hi) return []
    return this.log.slice(lo - this.offset, hi - this.offset)
  }

  async term(index: number): Promise<number | undefined> {
    this.checkOpen()
    if (this.snapshotMeta && index === this.snapshotMeta.index) return this.snapshotMeta.term
    const e = this.log[index - this.offset]
    return e?.term
  }

  async writeSnapshot(
    meta: SnapshotMeta,
    chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
    options: SnapshotWriteOptions = {},
  ): Promise<void> {
    this.checkOpen()
    await writeSnapshotFrom(this, meta, chunks, options)
  }

  async beginSnapshot(meta: SnapshotMeta): Promise<SnapshotWriter> {
    this.checkOpen()
    return new PartialSnapshot(structuredClone(meta), (data, options) => {
      this.checkOpen()
      this.snapshotData = data
      this.snapshotMeta = structuredClone(meta)
      if (options.replaceLog) {
        this.log = []
        this.offset = meta.index + 1
      }
    })
  }

  async readSnapshot(): Promise<StoredSnapshot | null> {
    this.checkOpen()
    if (!this.snapshotMeta) return null
    const data = this.snapshotData
    const store = this
    return {
      meta: structuredClone(this.snapshotMeta),
      size: data.length,
      async *chunks() {
        yield data
      },
      async read(offset, length) {
        store.checkOpen()
        if (store.snapshotData !== data)
          throw new StorageError('ERR_UNAVAILABLE', 'the snapshot was replaced since it was opened')
        checkSnapshotRange(offset, length, data.length)
        return data.slice(offset, offset + length)
      },
    }
  }

  async compact(index: number): Promise<void> {
    this.checkOpen()
    if (index < this.offset) return
    const snapIndex = this.snapshotMeta?.index ?? 0
    if (index > snapIndex)
      throw new StorageError('ERR_INVALID', `compact to ${index} past the snapshot at ${snapIndex}`)
    this.log = this.log.slice(index + 1 - this.offset)
    this.offset = index + 1
  }

  async close(): Promise<void> {
    this.closed = true
  }

  /** Test helper: a storage reopened after close keeps its contents, like a file. */
  reopen(): this {
    this.closed = false
    return this
  }

  private checkOpen(): void {
    if (this.closed) throw new StorageError('ERR_CLOSED', 'storage is closed')
  }
}

/** A snapshot written piece by piece, installed by `install` on commit. */
class PartialSnapshot implements SnapshotWriter {
  size = 0
  private parts: Uint8Array[] = []
  private done = false

  constructor(
    readonly meta: SnapshotMeta,
    private readonly install: (data: Uint8Array, options: SnapshotWriteOptions) => void,
  ) {}

  async write(offset: number, bytes: Uint8Array): Promise<void> {
    this.checkPending()
    checkSnapshotWrite(offset, this.size)
    this.parts.push(bytes.slice())
    this.size += bytes.length
  }

  async commit(options: SnapshotWriteOptions = {}): Promise<void> {
    this.checkPending()
    this.install(concatBytes(this.parts), options)
    this.done = true
    this.parts = []
  }

  async abort(): Promise<void> {
    this.done = true
    this.parts = []
  }

  private checkPending(): void {
    if (this.done)
      throw new StorageError('ERR_INVALID', `snapshot at ${this.meta.index}: already committed or aborted`)
  }
}
