import { join } from 'node:path'
import { type Entry, type HardState, StorageError } from '@flotilla/core'
import type { FileSystem } from './file-system.js'
import { readExactly } from './files.js'
import { LogIndex } from './log-index.js'
import { checkRecord, decodeRecord, encodeFrame, type FrameMeta } from './record.js'
import { replaySegments } from './replay.js'
import { type Segment, segmentName } from './segment.js'

const randomSalt = () => crypto.getRandomValues(new Uint32Array(1))[0]

/**
 * The write-ahead log: a directory of segment files of place-bound frames (record.ts), only
 * ever appended. Everything that changes the log is a frame, replayed in order at open: entries
 * (an entry at or below the last index replaces the suffix from there), the hard state, a
 * compaction (new first index) and a reset (an incoming snapshot replaced the log). The first
 * frame of each segment also records the log's bounds and the hard state at that point, so the
 * segments before it can be deleted once compaction passes their highest index.
 */
export class SegmentLog {
  private segments: Segment[] = []
  readonly index = new LogIndex<Segment>()

  private constructor(
    private readonly fs: FileSystem,
    private readonly dir: string,
    private readonly maxSegmentBytes: number,
  ) {}

  get firstIndex(): number {
    return this.index.first
  }

  get lastIndex(): number {
    return this.index.last
  }

  get hardState(): HardState {
    return this.index.hardState
  }

  term(index: number): number | undefined {
    return this.index.term(index)
  }

  /**
   * Opens the log in `dir`: replays the segments (see replay.ts), then makes durable all it
   * keeps, since a segment seen after a kill may still be only in the page cache.
   */
  static async open(fs: FileSystem, dir: string, maxSegmentBytes: number): Promise<SegmentLog> {
    await fs.mkdir(dir)
    const log = new SegmentLog(fs, dir, maxSegmentBytes)
    try {
      log.segments = await replaySegments(fs, dir, log.index)
      for (const seg of log.segments) await seg.file.datasync()
      await fs.syncDir(dir)
    } catch (err) {
      await log.close()
      throw err
    }
    return log
  }

  /**
   * Appends one frame holding `entries` (several saves' worth, in call order) and the hard state
   * if it changed, and fdatasyncs it: one sync whatever the frame carries.
   */
  async append(entries: Entry[], hardState?: HardState): Promise<void> {
    if (entries.length === 0 && !hardState) return
    await this.writeFrame(entries, hardState ? { hardState } : {})
  }

  /** Records the new first index in a frame, then deletes the segments wholly below it. */
  async compact(first: number): Promise<void> {
    if (first <= this.index.first) return
    await this.writeFrame([], { first })
    await this.dropDeadSegments()
  }

  /**
   * Discards every entry (an incoming snapshot replaced the log); the next entry is `first`. The
   * reset frame starts a new segment and is synced before any old segment is deleted; those go
   * newest first, so a crash between the unlinks leaves a contiguous run that replay skips.
   */
  async reset(first: number): Promise<void> {
    const old = [...this.segments]
    const seg = await this.newSegment()
    await this.writeAt(seg, [], { ...this.startMeta(), reset: true, first }, true)
    this.segments = [seg]
    for (const s of old.reverse()) await this.unlinkSegment(s)
    if (old.length > 0) await this.fs.syncDir(this.dir)
  }

  private startMeta(): FrameMeta {
    return {
      start: { last: this.index.last, first: this.index.first },
      hardState: { ...this.index.hardState },
    }
  }

  private async writeFrame(entries: Entry[], meta: FrameMeta): Promise<void> {
    let seg = this.segments.at(-1)
    const fresh = !seg || seg.size >= this.maxSegmentBytes
    if (fresh) {
      seg = await this.newSegment()
      meta = { ...this.startMeta(), ...meta }
    }
    await this.writeAt(seg!, entries, meta, fresh)
  }

  /** Writes and syncs one frame, then applies it to the index exactly as replay would. */
  private async writeAt(seg: Segment, entries: Entry[], meta: FrameMeta, fresh: boolean): Promise<void> {
    const frame = encodeFrame(entries, meta, seg.salt, seg.size)
    await seg.file.write(frame.bytes, seg.size)
    await seg.file.datasync()
    // A new segment's name must be durable before anything in it is acknowledged.
    if (fresh) {
      await this.fs.syncDir(this.dir)
      this.segments.push(seg)
    }
    const start = seg.size
    seg.size += frame.bytes.length
    this.index.applyMeta(meta)
    entries.forEach((e, i) => {
      this.index.add(
        e.index,
        e.term,
        { seg, offset: start + frame.offsets[i], size: frame.sizes[i] },
        seg.path,
      )
      if (e.index > seg.maxIndex) seg.maxIndex = e.index
    })
  }

  private async newSegment(): Promise<Segment> {
    const seq = (this.segments.at(-1)?.seq ?? 0) + 1
    const salt = randomSalt()
    const path = join(this.dir, segmentName(seq, salt))
    const file = await this.fs.open(path, 'create')
    return { seq, salt, path, file, size: 0, maxIndex: 0, readers: 0, dropped: false }
  }

  /** Entries in [lo, hi); the caller has checked the bounds. */
  async read(lo: number, hi: number): Promise<Entry[]> {
    const out: Entry[] = []
    // Take the places first: the index may change while we await.
    const runs: { seg: Segment; from: number; to: number; items: number[] }[] = []
    for (let i = lo; i < hi; ) {
      const first = this.index.place(i)
      const run = { seg: first.seg, from: first.offset, to: 0, items: [] as number[] }
      for (; i < hi && this.index.place(i).seg === run.seg; i++) {
        const p = this.index.place(i)
        run.items.push(p.offset - run.from)
        run.to = p.offset + p.size
      }
      runs.push(run)
    }
    for (const run of runs) run.seg.readers++
    try {
      let expected = lo
      for (const run of runs) {
        const buf = await readExactly(run.seg.file, run.from, run.to - run.from, run.seg.path)
        for (const at of run.items) {
          const defect = checkRecord(buf, at, buf.length)
          if (defect)
            throw new StorageError('ERR_CORRUPT', `${run.seg.path} at offset ${run.from + at}: ${defect}`)
          const e = decodeRecord(buf, at)
          if (e.index !== expected)
            throw new StorageError(
              'ERR_UNAVAILABLE',
              `entry ${expected} changed while it was read; read it again`,
            )
          out.push(e)
          expected++
        }
      }
    } finally {
      for (const run of runs) {
        run.seg.readers--
        if (run.seg.dropped && run.seg.readers === 0) await run.seg.file.close().catch(() => {})
      }
    }
    return out
  }

  /** Deletes the oldest segments while every entry they ever held lies below the first index. */
  private async dropDeadSegments(): Promise<void> {
    let dropped = 0
    while (this.segments.length > 1 && this.segments[0].maxIndex < this.index.first) {
      await this.unlinkSegment(this.segments.shift()!)
      dropped++
    }
    if (dropped > 0) await this.fs.syncDir(this.dir)
  }

  private async unlinkSegment(seg: Segment): Promise<void> {
    seg.dropped = true
    if (seg.readers === 0) await seg.file.close()
    await this.fs.unlink(seg.path)
  }

  get segmentCount(): number {
    return this.segments.length
  }

  async close(): Promise<void> {
    for (const seg of this.segments) {
      seg.dropped = true
      if (seg.readers === 0) await seg.file.close().catch(() => {})
    }
    this.segments = []
  }
}
