import type { HardState } from '@flotilla/core'
import { entries } from '@flotilla/core/test-support/storage-conformance'
import { describe, expect, it } from 'vitest'
import { openFsStorage } from '../src/index.js'
import { conf } from './crash/model.js'
import { ModelFs } from './crash/model-fs.js'

/**
 * Single scenarios of the crash model (test/crash/model-fs.ts): a kill leaves the page cache,
 * a power loss keeps file contents only as of their last sync and directory entries only as of
 * their directory's last sync. The full sweep is `npm run crash -- fs-model`.
 */
const DIR = '/data/store'

async function freshModel(): Promise<ModelFs> {
  const fs = new ModelFs()
  await fs.mkdir('/data')
  await fs.syncDir('/')
  return fs
}

const open = (fs: ModelFs, maxSegmentBytes?: number) => openFsStorage({ dir: DIR, fs, maxSegmentBytes })

/** Makes the model crash before the next operation whose description starts with `prefix`. */
function crashBefore(fs: ModelFs, prefix: string, skip = 0): void {
  let seen = 0
  fs.beforeOp = (n, what) => {
    if (what.startsWith(prefix) && seen++ === skip) fs.crashAt = n
  }
}

describe('FsStorage under power loss', () => {
  it('makes durable at open what it shows after a kill: no second vote in one term (finding 1)', async () => {
    const fs = await freshModel()
    const s = await open(fs)
    const a: HardState = { term: 1, vote: 'a', commit: 0 }
    const b: HardState = { term: 2, vote: 'b', commit: 0 }
    await s.save({ hardState: a })
    crashBefore(fs, 'fdatasync')
    await expect(s.save({ hardState: b })).rejects.toMatchObject({ code: 'ERR_FATAL' })
    // kill -9: the frame is in the page cache, so the restarted peer sees its vote for b...
    const restarted = fs.killImage()
    const r = await open(restarted)
    expect((await r.load()).hardState).toEqual(b)
    // ...grants b's retransmitted vote again (nothing to write), and the power fails.
    await r.save({ hardState: b })
    const after = await open(restarted.powerLossImage())
    expect((await after.load()).hardState).toEqual(b)
  })

  it('makes durable at open the entries it shows after a kill (finding 1)', async () => {
    const fs = await freshModel()
    const s = await open(fs)
    await s.save({ entries: entries(1, 11, 1) })
    crashBefore(fs, 'fdatasync')
    await expect(s.save({ entries: entries(11, 21, 1) })).rejects.toMatchObject({ code: 'ERR_FATAL' })
    const restarted = fs.killImage()
    const r = await open(restarted)
    // The peer would now tell the leader it matches entry 20.
    expect((await r.load()).lastIndex).toBe(20)
    const after = await open(restarted.powerLossImage())
    expect((await after.load()).lastIndex).toBe(20)
    expect((await after.entries(11, 21)).map((e) => e.index)).toEqual(entries(11, 21, 1).map((e) => e.index))
  })

  it('keeps the entries of a fresh store: the wal directory entry is synced (finding 5)', async () => {
    const fs = await freshModel()
    const s = await open(fs)
    await s.save({ entries: entries(1, 4, 1), hardState: { term: 1, vote: 'a', commit: 0 } })
    const after = await open(fs.powerLossImage())
    expect(await after.load()).toMatchObject({ lastIndex: 3, hardState: { term: 1, vote: 'a' } })
  })

  it('opens after a crash between the unlinks of a replaceLog, as the replaced log (finding 4)', async () => {
    // Every frame its own segment: the reset has four old segments to delete.
    for (let skip = 0; skip < 4; skip++) {
      const fs = await freshModel()
      const s = await open(fs, 1)
      for (let b = 0; b < 4; b++) await s.save({ entries: entries(1 + b * 5, 6 + b * 5, 1) })
      crashBefore(fs, 'unlink', skip)
      const install = s.writeSnapshot({ index: 40, term: 3, conf }, [new Uint8Array(5)], { replaceLog: true })
      await expect(install).rejects.toMatchObject({ code: 'ERR_FATAL' })
      for (const image of [fs.killImage(), fs.powerLossImage()]) {
        const r = await open(image, 1)
        expect(await r.load()).toMatchObject({ firstIndex: 41, lastIndex: 40, snapshot: { index: 40 } })
        await r.save({ entries: entries(41, 43, 3) })
        await r.close()
        const again = await open(image, 1)
        expect((await again.load()).lastIndex).toBe(42)
        await again.close()
      }
    }
  })

  it('makes the snapshot durable before a restart finishes a replaceLog that depends on it', async () => {
    const fs = await freshModel()
    const s = await open(fs, 1)
    for (let b = 0; b < 3; b++) await s.save({ entries: entries(1 + b * 5, 6 + b * 5, 1) })
    // Killed after the snapshot's rename, before its directory was synced.
    crashBefore(fs, `fsync dir ${DIR}`)
    const install = s.writeSnapshot({ index: 40, term: 3, conf }, [new Uint8Array(5)], { replaceLog: true })
    await expect(install).rejects.toMatchObject({ code: 'ERR_FATAL' })
    // The restart finishes the reset and is killed while deleting the old segments; then the power fails.
    const restarted = fs.killImage()
    crashBefore(restarted, 'unlink')
    await expect(open(restarted, 1)).rejects.toMatchObject({ code: 'ERR_FATAL' })
    const r = await open(restarted.powerLossImage(), 1)
    expect(await r.load()).toMatchObject({ firstIndex: 41, lastIndex: 40, snapshot: { index: 40 } })
  })

  it('keeps the hard state when the segments before a compaction are deleted', async () => {
    const fs = await freshModel()
    const s = await open(fs, 1)
    await s.save({ entries: entries(1, 6, 1), hardState: { term: 1, vote: 'a', commit: 5 } })
    for (let b = 1; b < 4; b++) await s.save({ entries: entries(1 + b * 5, 6 + b * 5, 1) })
    await s.writeSnapshot({ index: 15, term: 1, conf }, [new Uint8Array(3)])
    await s.compact(15)
    await s.close()
    const r = await open(fs.powerLossImage(), 1)
    expect(await r.load()).toMatchObject({
      firstIndex: 16,
      lastIndex: 20,
      hardState: { term: 1, vote: 'a', commit: 5 },
    })
  })
})
