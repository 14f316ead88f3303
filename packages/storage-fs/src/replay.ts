import { join } from 'node:path'
import { StorageError } from '@flotilla/core'
import type { FileSystem } from './file-system.js'
import type { LogIndex } from './log-index.js'
import { checkFrame, FRAME_HEADER_BYTES, type FrameCheck, findSoundFrame, recordKey } from './record.js'
import { SEGMENT_NAME, type Segment } from './segment.js'

interface SegmentName {
  seq: number
  salt: number
  path: string
}

/** Segment names of the first on-disk format (no salt); refused rather than silently ignored. */
const FORMAT_1_NAME = /^\d{20}\.wal$/

const corrupt = (message: string) => new StorageError('ERR_CORRUPT', message)

/**
 * Replays the segments in `dir` into `index` and returns the ones kept, open for appending.
 *
 * - Replay starts at the newest segment that begins with a reset (an incoming snapshot replaced
 *   the log); older segments are dead and deleted, newest first like `SegmentLog.reset`.
 * - The segments replayed must have consecutive numbers and each must start where the log
 *   before it ended.
 * - A defective frame is a torn tail (cut off, with any later segment that holds nothing sound)
 *   unless a sound frame of the same segment follows it or a later segment starts soundly: then
 *   it was synced and damaged since, and opening stops with ERR_CORRUPT, touching nothing.
 *   "Sound" means checked at its own offset with its segment's salt, so frame images inside
 *   entries or stale blocks of deleted segments do not count.
 */
export async function replaySegments(
  fs: FileSystem,
  dir: string,
  index: LogIndex<Segment>,
): Promise<Segment[]> {
  const names = await fs.readdir(dir)
  const old = names.find((n) => FORMAT_1_NAME.test(n))
  if (old)
    throw corrupt(
      `${join(dir, old)}: a segment of the first on-disk format, which this version does not read`,
    )
  const found: SegmentName[] = []
  for (const n of names) {
    const m = SEGMENT_NAME.exec(n)
    if (m) found.push({ seq: Number(m[1]), salt: Number.parseInt(m[2], 16), path: join(dir, n) })
  }
  found.sort((a, b) => a.seq - b.seq)
  let from = 0
  for (let k = found.length - 1; k > 0 && from === 0; k--)
    if ((await readFirstFrame(fs, found[k])).meta.reset) from = k
  const dead = found.slice(0, from)
  const live = found.slice(from)
  const kept: Segment[] = []
  try {
    for (let k = 0; k < live.length; k++) {
      const name = live[k]
      if (k > 0 && name.seq !== live[k - 1].seq + 1)
        throw corrupt(`${name.path}: segment ${live[k - 1].seq + 1} before it is missing`)
      const buf = await fs.readFile(name.path)
      const seg: Segment = { ...name, file: null!, size: buf.length, maxIndex: 0, readers: 0, dropped: false }
      const torn = replayFrames(buf, seg, index, k === 0)
      if (!torn) {
        seg.file = await fs.open(name.path, 'update')
        kept.push(seg)
        continue
      }
      const later = live.slice(k + 1)
      await checkTorn(fs, buf, seg, torn, later)
      if (torn.at === 0) await fs.unlink(name.path)
      else {
        seg.file = await fs.open(name.path, 'update')
        kept.push(seg)
        await seg.file.truncate(torn.at)
        seg.size = torn.at
      }
      for (const l of later) await fs.unlink(l.path)
      break
    }
    const missing = index.firstMissing()
    if (missing !== null)
      throw corrupt(`${dir}: entries from ${missing} on are missing (a segment that held them is gone)`)
    for (const d of dead.reverse()) await fs.unlink(d.path)
  } catch (err) {
    for (const seg of kept) await seg.file.close().catch(() => {})
    throw err
  }
  return kept
}

/** Applies the frames of one segment; returns the first defective frame, if any. */
function replayFrames(
  buf: Buffer,
  seg: Segment,
  index: LogIndex<Segment>,
  first: boolean,
): { at: number; defect: string } | null {
  // Created, then the process died before its first frame was written.
  if (buf.length === 0) return { at: 0, defect: 'empty segment' }
  for (let at = 0; at < buf.length; ) {
    const frame = checkFrame(buf, at, seg.salt)
    if (frame.defect) return { at, defect: frame.defect }
    if (at === 0) {
      const start = frame.meta.start
      if (!start)
        throw corrupt(`${seg.path} at offset 0: the first frame does not say where the segment starts`)
      if (first) index.startAt(start.first, start.last)
      else if (!frame.meta.reset && start.last !== index.last)
        throw corrupt(
          `${seg.path}: starts after entry ${start.last}, but the log before it ends at ${index.last}`,
        )
    }
    index.applyMeta(frame.meta)
    for (const r of frame.records) {
      const { index: i, term } = recordKey(buf, r)
      index.add(i, term, { seg, offset: r, size: 8 + buf.readUInt32LE(r) }, `${seg.path} at offset ${r}`)
      if (i > seg.maxIndex) seg.maxIndex = i
    }
    at = frame.end
  }
  return null
}

async function checkTorn(
  fs: FileSystem,
  buf: Buffer,
  seg: Segment,
  torn: { at: number; defect: string },
  later: SegmentName[],
): Promise<void> {
  const fail = (why: string) =>
    corrupt(`${seg.path} at offset ${torn.at}: ${torn.defect}, but ${why}; refusing to drop synced records`)
  const next = findSoundFrame(buf, torn.at + 1, seg.salt)
  if (next >= 0) throw fail(`a sound frame follows at offset ${next}`)
  for (const l of later)
    if ((await readFirstFrame(fs, l)).defect === null)
      throw fail(`the later segment ${l.path} starts soundly`)
}

/** Checks a segment's first frame, reading no more of the file than that frame. */
async function readFirstFrame(fs: FileSystem, name: SegmentName): Promise<FrameCheck> {
  const file = await fs.open(name.path, 'read')
  try {
    const header = await file.read(0, FRAME_HEADER_BYTES)
    const length = header.length < FRAME_HEADER_BYTES ? 0 : header.readUInt32LE(4)
    const size = await file.size()
    const buf = await file.read(0, Math.min(size, FRAME_HEADER_BYTES + length))
    return checkFrame(buf, 0, name.salt)
  } finally {
    await file.close()
  }
}
