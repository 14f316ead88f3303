import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs'
import { truncate } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { entries } from '@flotilla/core/test-support/storage-conformance'
import { afterAll, describe, expect, it } from 'vitest'
import { nodeFileSystem, openFsStorage } from '../src/index.js'
import { encodeFrame, FRAME_HEADER_BYTES, RECORD_HEADER_BYTES } from '../src/record.js'
import { conf } from './crash/model.js'

const root = mkdtempSync(join(tmpdir(), 'flotilla-fs-recovery-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))
let n = 0
const freshDir = () => join(root, `d${n++}`)

const segments = (dir: string) =>
  readdirSync(join(dir, 'wal'))
    .filter((f) => f.endsWith('.wal'))
    .sort()
    .map((f) => join(dir, 'wal', f))

/** Writes three saves of ten entries each (three frames) and returns each frame's end offset. */
async function threeFrames(dir: string): Promise<number[]> {
  const s = await openFsStorage({ dir })
  const ends: number[] = []
  for (let b = 0; b < 3; b++) {
    await s.save({ entries: entries(1 + b * 10, 11 + b * 10, 1, 100) })
    ends.push(statSync(segments(dir)[0]).size)
  }
  await s.close()
  return ends
}

describe('FsStorage recovery', () => {
  it('cuts a torn tail at every 7th byte of the last frame and keeps the synced frames', async () => {
    const template = freshDir()
    const ends = await threeFrames(template)
    const seg = readFileSync(segments(template)[0])
    // Every cut inside the last frame must recover exactly the first two frames.
    const name = basename(segments(template)[0])
    for (let cut = ends[1]; cut < ends[2]; cut += 7) {
      const dir = freshDir()
      const s0 = await openFsStorage({ dir })
      await s0.close()
      writeFileSync(join(dir, 'wal', name), seg.subarray(0, cut))
      const s = await openFsStorage({ dir })
      const st = await s.load()
      expect(st.lastIndex).toBe(20)
      expect((await s.entries(1, 21)).map((e) => e.index)).toEqual(entries(1, 21, 1).map((e) => e.index))
      // The tail was cut, so appending continues cleanly and survives another reopen.
      await s.save({ entries: entries(21, 23, 2) })
      await s.close()
      const again = await openFsStorage({ dir })
      expect((await again.load()).lastIndex).toBe(22)
      expect(await again.term(22)).toBe(2)
      await again.close()
      rmSync(dir, { recursive: true })
    }
  })

  it('treats zeros or garbage after the last frame as a torn tail', async () => {
    for (const tail of [Buffer.alloc(4096), Buffer.from('not a frame at all, just bytes')]) {
      const dir = freshDir()
      await threeFrames(dir)
      const fd = openSync(segments(dir)[0], 'a')
      writeSync(fd, tail)
      closeSync(fd)
      const s = await openFsStorage({ dir })
      expect((await s.load()).lastIndex).toBe(30)
      await s.close()
    }
  })

  it('stops with ERR_CORRUPT naming the file and offset when a synced record in the middle is damaged', async () => {
    const dir = freshDir()
    const ends = await threeFrames(dir)
    const file = segments(dir)[0]
    const bytes = readFileSync(file)
    const at = ends[0] + FRAME_HEADER_BYTES + 40 // inside the first record of the second frame
    bytes[at] ^= 0xff
    writeFileSync(file, bytes)
    const err = await openFsStorage({ dir }).catch((e: unknown) => e)
    expect(err).toMatchObject({ code: 'ERR_CORRUPT' })
    expect((err as Error).message).toContain(file)
    expect((err as Error).message).toContain(`offset ${ends[0]}`)
    // Nothing was dropped: the file is untouched and the error repeats.
    expect(readFileSync(file).length).toBe(ends[2])
    await expect(openFsStorage({ dir })).rejects.toMatchObject({ code: 'ERR_CORRUPT' })
  })

  it('reports a damaged frame header in the middle too', async () => {
    const dir = freshDir()
    const ends = await threeFrames(dir)
    const file = segments(dir)[0]
    const bytes = readFileSync(file)
    bytes[ends[0] + 5] ^= 0x10 // the length field of the second frame's header
    writeFileSync(file, bytes)
    await expect(openFsStorage({ dir })).rejects.toMatchObject({ code: 'ERR_CORRUPT' })
  })

  it('reports a bad record found by a read as ERR_CORRUPT', async () => {
    const dir = freshDir()
    const ends = await threeFrames(dir)
    const s = await openFsStorage({ dir })
    const file = segments(dir)[0]
    const bytes = readFileSync(file)
    bytes[ends[0] + FRAME_HEADER_BYTES + 30] ^= 0x01
    writeFileSync(file, bytes)
    await expect(s.entries(11, 12)).rejects.toMatchObject({ code: 'ERR_CORRUPT' })
    expect((await s.entries(1, 11)).length).toBe(10)
    await s.close()
  })

  it('reports corruption when a later segment holds sound frames after a bad one', async () => {
    const dir = freshDir()
    const s = await openFsStorage({ dir, maxSegmentBytes: 1 })
    for (let b = 0; b < 3; b++) await s.save({ entries: entries(1 + b * 5, 6 + b * 5, 1) })
    await s.close()
    const files = segments(dir)
    expect(files.length).toBe(3)
    // Cut the middle segment short: the third one proves it had been synced.
    await truncate(files[1], statSync(files[1]).size - 3)
    await expect(openFsStorage({ dir, maxSegmentBytes: 1 })).rejects.toMatchObject({ code: 'ERR_CORRUPT' })
  })

  it('replays overwrites across segments and drops dead segments on compaction', async () => {
    const dir = freshDir()
    const s = await openFsStorage({ dir, maxSegmentBytes: 1 })
    for (let b = 0; b < 4; b++) await s.save({ entries: entries(1 + b * 5, 6 + b * 5, 1) })
    await s.save({ entries: entries(8, 12, 2) }) // overwrites 8..20 from the second segment on
    expect(s.segmentCount).toBe(5)
    await s.close()
    const r = await openFsStorage({ dir, maxSegmentBytes: 1 })
    expect((await r.load()).lastIndex).toBe(11)
    expect((await r.entries(6, 12)).map((e) => e.term)).toEqual([1, 1, 2, 2, 2, 2])
    await r.writeSnapshot({ index: 9, term: 2, conf: conf }, [new Uint8Array([1])])
    await r.compact(9)
    // The compaction frame starts segment 6. Segment 1 (entries 1..5) is wholly below the first
    // index 10 and goes; segment 2 wrote entry 10 and stays, and so do the later ones, although 3
    // and 4 hold only overwritten entries: they are dropped by their highest index, never by
    // whether they still hold a live entry (replay needs them to place what follows).
    expect(r.segmentCount).toBe(5)
    expect(segments(dir).length).toBe(5)
    await r.close()
    const again = await openFsStorage({ dir, maxSegmentBytes: 1 })
    expect(await again.load()).toMatchObject({ firstIndex: 10, lastIndex: 11 })
    expect((await again.entries(10, 12)).map((e) => e.term)).toEqual([2, 2])
    await again.close()
  })

  it('keeps a truncation that compaction to the last index follows (finding 2)', async () => {
    const dir = freshDir()
    const s = await openFsStorage({ dir })
    await s.save({ entries: entries(1, 101, 1) })
    await s.save({ entries: entries(30, 36, 2) }) // a new leader's entries cut 36..100
    await s.writeSnapshot({ index: 35, term: 2, conf: conf }, [new Uint8Array([1])])
    await s.compact(35)
    await s.close()
    const r = await openFsStorage({ dir })
    expect(await r.load()).toMatchObject({ firstIndex: 36, lastIndex: 35 })
    await r.close()
  })

  it('reopens a cleanly closed store whose compaction passed a segment of overwritten entries (finding 3)', async () => {
    const dir = freshDir()
    // About 650 bytes a frame of five 100-byte entries: a frame of two still fits after it.
    const opts = { dir, maxSegmentBytes: 600 }
    const s = await openFsStorage(opts)
    await s.save({ entries: entries(1, 6, 1, 100) }) // segment 1
    await s.save({ entries: entries(6, 11, 1, 100) }) // segment 2
    await s.save({ entries: entries(11, 13, 1, 100) }) // segment 3
    await s.save({ entries: entries(6, 8, 2, 100) }) // segment 3 too: 6..12 of term 1 are gone
    expect(s.segmentCount).toBe(3)
    await s.writeSnapshot({ index: 2, term: 1, conf: conf }, [new Uint8Array([1])])
    await s.compact(2)
    await s.close()
    const r = await openFsStorage(opts)
    expect(await r.load()).toMatchObject({ firstIndex: 3, lastIndex: 7 })
    expect((await r.entries(3, 8)).map((e) => e.term)).toEqual([1, 1, 1, 2, 2])
    await r.close()
  })

  it('does not take a frame image inside an entry for a sound frame after a torn tail (finding 6)', async () => {
    const dir = freshDir()
    const s = await openFsStorage({ dir })
    await s.save({ entries: entries(1, 4, 1) })
    await s.close()
    const file = segments(dir)[0]
    const frameAt = statSync(file).size
    // Entry 4 carries the image of a frame holding entries 5 and 6, laid out to sit at its own
    // offset in the segment; a client cannot know the segment's salt, so it guesses one.
    const prefix = 16
    const imageAt = frameAt + FRAME_HEADER_BYTES + RECORD_HEADER_BYTES + 17 + prefix
    const image = encodeFrame(entries(5, 7, 1), {}, 0, imageAt).bytes
    const data = Buffer.concat([Buffer.alloc(prefix, 1), image, Buffer.alloc(64, 2)])
    const w = await openFsStorage({ dir })
    await w.save({ entries: [{ index: 4, term: 1, type: 0, data }] })
    await w.close()
    expect(readFileSync(file).indexOf(image)).toBe(imageAt)
    // The frame of entry 4 is torn after the image.
    await truncate(file, statSync(file).size - 32)
    const r = await openFsStorage({ dir })
    expect((await r.load()).lastIndex).toBe(3)
    await r.close()
  })

  it('does not take stale blocks of another segment for a sound frame after a torn tail (finding 6)', async () => {
    const dir = freshDir()
    // Three frames a segment, laid out alike in both segments.
    const s = await openFsStorage({ dir, maxSegmentBytes: 400 })
    const ends: number[] = []
    for (let b = 0; b < 6; b++) {
      await s.save({ entries: entries(1 + b * 3, 4 + b * 3, 1, 20) })
      ends.push(statSync(segments(dir).at(-1)!).size)
    }
    await s.close()
    const [first, second] = segments(dir).map((f) => readFileSync(f))
    expect(ends.slice(0, 3)).toEqual(ends.slice(3))
    // The second segment is torn inside its second frame, and its third frame's place holds a
    // stale block: the first segment's third frame, at the same offset but with another salt.
    const [, f1, f2] = ends
    const torn = Buffer.concat([second.subarray(0, f1 - 10), Buffer.alloc(10), first.subarray(f1, f2)])
    writeFileSync(segments(dir)[1], torn)
    const r = await openFsStorage({ dir, maxSegmentBytes: 400 })
    expect((await r.load()).lastIndex).toBe(12)
    await r.close()
  })

  it('refuses a store of the first on-disk format rather than forget its vote or log', async () => {
    const withState = freshDir()
    mkdirSync(withState, { recursive: true })
    writeFileSync(join(withState, 'state'), 'old')
    await expect(openFsStorage({ dir: withState })).rejects.toMatchObject({ code: 'ERR_CORRUPT' })
    const withSegment = freshDir()
    mkdirSync(join(withSegment, 'wal'), { recursive: true })
    writeFileSync(join(withSegment, 'wal', '00000000000000000001.wal'), 'old')
    await expect(openFsStorage({ dir: withSegment })).rejects.toMatchObject({ code: 'ERR_CORRUPT' })
  })

  it('finishes an interrupted replaceLog on open', async () => {
    const dir = freshDir()
    const s = await openFsStorage({ dir })
    await s.save({ entries: entries(1, 11, 1) })
    await s.close()
    // Simulate a crash right after the snapshot file was installed, before the log was reset.
    const { SnapshotFileWriter, installSnapshotFile } = await import('../src/snapshot-file.js')
    const file = await SnapshotFileWriter.create(nodeFileSystem, dir, { index: 30, term: 4, conf: conf })
    await file.write(new Uint8Array(9))
    await file.finish(true)
    await installSnapshotFile(nodeFileSystem, dir, file.path)
    const r = await openFsStorage({ dir })
    expect(await r.load()).toMatchObject({ firstIndex: 31, lastIndex: 30, snapshot: { index: 30, term: 4 } })
    // Only the reset segment is left: it records the new first index.
    expect(segments(dir).length).toBe(1)
    await r.close()
  })

  it('detects a damaged snapshot while streaming it', async () => {
    const dir = freshDir()
    const s = await openFsStorage({ dir })
    await s.writeSnapshot({ index: 1, term: 1, conf: conf }, [new Uint8Array(300_000).fill(3)])
    const file = join(dir, 'snapshot')
    const bytes = readFileSync(file)
    bytes[200_000] ^= 1
    writeFileSync(file, bytes)
    const snap = await s.readSnapshot()
    const read = async () => {
      for await (const _ of snap!.chunks()) {
      }
    }
    await expect(read()).rejects.toMatchObject({ code: 'ERR_CORRUPT' })
    await s.close()
  })
})
