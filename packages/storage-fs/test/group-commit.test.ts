import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { entries, entry } from '@flotilla/core/test-support/storage-conformance'
import { afterAll, describe, expect, it } from 'vitest'
import { openFsStorage } from '../src/index.js'
import { ModelFs } from './crash/model-fs.js'

const root = mkdtempSync(join(tmpdir(), 'flotilla-fs-group-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

describe('FsStorage group commit', () => {
  it('shares one fdatasync among concurrent saves', async () => {
    const s = await openFsStorage({ dir: join(root, 'a') })
    await Promise.all(Array.from({ length: 64 }, (_, i) => s.save({ entries: [entry(i + 1, 1)] })))
    expect(s.stats.saves).toBe(64)
    expect(s.stats.groupCommits).toBeLessThanOrEqual(2)
    // Saves awaited one by one each take their own sync.
    for (let i = 65; i <= 70; i++) await s.save({ entries: [entry(i, 1)] })
    expect(s.stats.groupCommits).toBeGreaterThanOrEqual(s.stats.saves - 64 + 1)
    expect((await s.entries(1, 71)).map((e) => e.index)).toEqual(entries(1, 71, 1).map((e) => e.index))
    await s.close()
  })

  it('applies an overwrite inside one group in call order', async () => {
    const s = await openFsStorage({ dir: join(root, 'b') })
    const saves = [
      s.save({ entries: entries(1, 11, 1) }),
      s.save({ entries: entries(5, 8, 2) }),
      s.save({ entries: entries(8, 9, 2), hardState: { term: 2, vote: 'x', commit: 8 } }),
    ]
    await Promise.all(saves)
    expect(s.stats.groupCommits).toBe(1)
    const check = async (st: typeof s) => {
      const got = await st.entries(1, 9)
      expect(got.map((e) => e.term)).toEqual([1, 1, 1, 1, 2, 2, 2, 2])
      expect((await st.load()).lastIndex).toBe(8)
    }
    await check(s)
    await s.close()
    const again = await openFsStorage({ dir: join(root, 'b') })
    await check(again)
    await again.close()
  })

  it("carries a changed hard state in the entries' frame: one write and one fdatasync a save", async () => {
    const fs = new ModelFs()
    const s = await openFsStorage({ dir: '/store', fs })
    await s.save({ entries: entries(1, 3, 1) }) // starts the segment
    const ops: string[] = []
    fs.beforeOp = (_n, what) => ops.push(what.split(' ')[0])
    await s.save({ entries: entries(3, 5, 1), hardState: { term: 2, vote: 'b', commit: 2 } })
    expect(ops).toEqual(['write', 'fdatasync'])
    ops.length = 0
    await s.save({ hardState: { term: 3, vote: 'c', commit: 4 } })
    expect(ops).toEqual(['write', 'fdatasync'])
    ops.length = 0
    // Concurrent saves, entries and hard states: still one frame.
    await Promise.all([
      s.save({ entries: entries(5, 7, 3), hardState: { term: 3, vote: 'c', commit: 5 } }),
      s.save({ entries: entries(7, 9, 3), hardState: { term: 3, vote: 'c', commit: 6 } }),
    ])
    expect(ops).toEqual(['write', 'fdatasync'])
    await s.close()
    const again = await openFsStorage({ dir: '/store', fs: fs.powerLossImage() })
    expect(await again.load()).toMatchObject({ lastIndex: 8, hardState: { term: 3, vote: 'c', commit: 6 } })
  })
})
