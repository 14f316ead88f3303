import type { FileHandle } from 'node:fs/promises'
import { mkdir, open, readdir, readFile, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { type Entry, StorageError } from '@flotilla/core'
import { readExactly, syncDir, writeAll } from './files.js'
import { checkFrame, checkRecord, decodeRecord, encodeFrame, findSoundFrame, recordKey } from './record.js'

/** One segment file, named by its sequence number. */
interface Segment {
  seq: number
  path: string
  fh: FileHandle
  size: number
  /** Reads in progress; a dropped segment's handle is closed when the last one ends. */
  readers: number
  dropped: boolean
}

const SEGMENT_NAME = /^(\d{20})\.wal$/
const segmentName = (seq: number) => `${String(seq).padStart(20, '0')}.wal`

/**
 * The write-ahead log: a directory of segment files, each a sequence of CRC-checked frames.
 * Frames are only ever appended. An entry whose index is at or below the last index replaces
 * the suffix from there on, both when it is appended and when the log is replayed, so an
 * overwrite costs one appended frame and one fdatasync, like any other write. A segment that
 * holds no live entry any more is deleted whole by `dropDeadSegments`.
 */
export class SegmentLog {
  private segments: Segment[] = []
  /** Live entries [base, base + terms.length): term, segment and record position of each. */
  private base: number
  private terms: number[] = []
  private segOf: Segment[] = []
  private offsets: number[] = []
  private sizes: number[] = []

  private constructor(
    private readonly dir: string,
    firstIndex: number,
    private readonly maxSegmentBytes: number,
  ) {
    this.base = firstIndex
  }

  get firstIndex(): number {
    return this.base
  }

  get lastIndex(): number {
    return this.base + this.terms.length - 1
  }

  term(index: number): number | undefined {
    return index >= this.base ? this.terms[index - this.base] : undefined
  }

  /**
   * Opens the log in `dir`, replaying every segment. Entries below `firstIndex` are compacted
   * and ignored. A defective frame with nothing sound after it is a torn tail and is cut off;
   * a defective frame followed by a sound one was synced and then damaged: ERR_CORRUPT.
   */
  static async open(dir: string, firstIndex: number, maxSegmentBytes: number): Promise<SegmentLog> {
    await mkdir(dir, { recursive: true })
    const log = new SegmentLog(dir, firstIndex, maxSegmentBytes)
    const names = (await readdir(dir)).filter((n) => SEGMENT_NAME.test(n)).sort()
    try {
      for (let k = 0; k < names.length; k++) {
        const path = join(dir, names[k])
        const buf = await readFile(path)
        const torn = log.replay(buf, path)
        if (torn === null) {
          if (buf.length === 0) await unlink(path)
          else await log.attach(names[k], path, buf.length)
          continue
        }
        await log.checkNothingSoundAfter(buf, torn, path, names.slice(k + 1))
        if (torn.at === 0) await unlink(path)
        else {
          await log.attach(names[k], path, torn.at)
          const seg = log.segments.at(-1)!
          await seg.fh.truncate(torn.at)
          await seg.fh.datasync()
        }
        for (const later of names.slice(k + 1)) await unlink(join(dir, later))
        await syncDir(dir)
        break
      }
    } catch (err) {
      await log.close()
      throw err
    }
    return log
  }

  /** Replays the frames of one segment into the index; returns the first defective frame, if any. */
  private replay(buf: Buffer, path: string): { at: number; defect: string } | null {
    const seg = { path } as Segment // patched to the real segment by attach()
    for (let at = 0; at < buf.length; ) {
      const frame = checkFrame(buf, at)
      if (frame.defect) return { at, defect: frame.defect }
      for (const r of frame.records) {
        const { index, term } = recordKey(buf, r)
        const size = 8 + buf.readUInt32LE(r)
        this.place(index, term, seg, r, size, `${path} at offset ${r}`)
      }
      at = frame.end
    }
    return null
  }

  /** Puts one record into the index, cutting the suffix it replaces. */
  private place(
    index: number,
    term: number,
    seg: Segment,
    offset: number,
    size: number,
    where: string,
  ): void {
    if (index < this.base) return // compacted
    if (index > this.lastIndex + 1)
      throw new StorageError('ERR_CORRUPT', `${where}: entry ${index} leaves a gap after ${this.lastIndex}`)
    const keep = index - this.base
    if (keep < this.terms.length) {
      this.terms.length = keep
      this.segOf.length = keep
      this.offsets.length = keep
      this.sizes.length = keep
    }
    this.terms.push(term)
    this.segOf.push(seg)
    this.offsets.push(offset)
    this.sizes.push(size)
  }

  private async attach(name: string, path: string, size: number): Promise<void> {
    const fh = await open(path, 'r+')
    const seg: Segment = {
      seq: Number(SEGMENT_NAME.exec(name)![1]),
      path,
      fh,
      size,
      readers: 0,
      dropped: false,
    }
    // replay() indexed this segment's records under a placeholder; point them at the real one.
    for (let i = this.segOf.length - 1; i >= 0 && this.segOf[i].path === path; i--) this.segOf[i] = seg
    this.segments.push(seg)
  }

  private async checkNothingSoundAfter(
    buf: Buffer,
    torn: { at: number; defect: string },
    path: string,
    later: string[],
  ): Promise<void> {
    const corrupt = (why: string) =>
      new StorageError(
        'ERR_CORRUPT',
        `${path} at offset ${torn.at}: ${torn.defect}, but ${why}; refusing to drop synced records`,
      )
    const next = findSoundFrame(buf, torn.at + 1)
    if (next >= 0) throw corrupt(`a sound frame follows at offset ${next}`)
    for (const name of later) {
      const laterBuf = await readFile(join(this.dir, name))
      if (findSoundFrame(laterBuf, 0) >= 0) throw corrupt(`the later segment ${name} holds sound frames`)
    }
  }

  /**
   * Appends `entries` (one frame) and fdatasyncs. `entries` may be several saves' worth in call
   * order; an entry at or below the running last index replaces the suffix from there.
   */
  async append(entries: Entry[]): Promise<void> {
    if (entries.length === 0) return
    const frame = encodeFrame(entries)
    let seg = this.segments.at(-1)
    if (!seg || seg.size >= this.maxSegmentBytes) seg = await this.newSegment((seg?.seq ?? 0) + 1)
    await writeAll(seg.fh, frame.bytes, seg.size)
    await seg.fh.datasync()
    const start = seg.size
    seg.size += frame.bytes.length
    entries.forEach((e, i) => {
      this.place(e.index, e.term, seg, start + frame.offsets[i], frame.sizes[i], seg.path)
    })
  }

  private async newSegment(seq: number): Promise<Segment> {
    const path = join(this.dir, segmentName(seq))
    const fh = await open(path, 'wx+')
    await syncDir(this.dir)
    const seg: Segment = { seq, path, fh, size: 0, readers: 0, dropped: false }
    this.segments.push(seg)
    return seg
  }

  /** Entries in [lo, hi); the caller has checked the bounds. */
  async read(lo: number, hi: number): Promise<Entry[]> {
    const out: Entry[] = []
    let i = lo - this.base
    const end = hi - this.base
    // Snapshot the positions first: the index may change while we await.
    const runs: { seg: Segment; from: number; to: number; items: number[] }[] = []
    while (i < end) {
      const seg = this.segOf[i]
      const run = { seg, from: this.offsets[i], to: 0, items: [] as number[] }
      while (i < end && this.segOf[i] === seg) {
        run.items.push(this.offsets[i] - run.from)
        run.to = this.offsets[i] + this.sizes[i]
        i++
      }
      runs.push(run)
    }
    for (const run of runs) run.seg.readers++
    try {
      let expected = lo
      for (const run of runs) {
        const buf = await readExactly(run.seg.fh, run.from, run.to - run.from, run.seg.path)
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
        if (run.seg.dropped && run.seg.readers === 0) await run.seg.fh.close().catch(() => {})
      }
    }
    return out
  }

  /** Forgets entries below `firstIndex` (already recorded as compacted) and deletes dead segments. */
  async compact(firstIndex: number): Promise<void> {
    if (firstIndex <= this.base) return
    const drop = Math.min(firstIndex - this.base, this.terms.length)
    this.terms.splice(0, drop)
    this.segOf.splice(0, drop)
    this.offsets.splice(0, drop)
    this.sizes.splice(0, drop)
    this.base = firstIndex
    await this.dropDeadSegments()
  }

  /** Discards every entry (an incoming snapshot replaced the log); the next entry is `firstIndex`. */
  async reset(firstIndex: number): Promise<void> {
    this.terms = []
    this.segOf = []
    this.offsets = []
    this.sizes = []
    this.base = firstIndex
    await this.dropDeadSegments(true)
  }

  /** Deletes whole segments that hold no live entry (never the one being appended to, unless `all`). */
  private async dropDeadSegments(all = false): Promise<void> {
    const live = new Set(this.segOf)
    const keepLast = all ? null : this.segments.at(-1)
    const dead = this.segments.filter((s) => !live.has(s) && s !== keepLast)
    if (dead.length === 0) return
    this.segments = this.segments.filter((s) => !dead.includes(s))
    for (const seg of dead) {
      seg.dropped = true
      if (seg.readers === 0) await seg.fh.close()
      await unlink(seg.path)
    }
    await syncDir(this.dir)
  }

  get segmentCount(): number {
    return this.segments.length
  }

  async close(): Promise<void> {
    for (const seg of this.segments) {
      seg.dropped = true
      if (seg.readers === 0) await seg.fh.close().catch(() => {})
    }
    this.segments = []
  }
}
