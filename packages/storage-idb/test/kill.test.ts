import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { expect, it } from 'vitest'
import { type IdbBrowser, startIdbBrowser } from '../test-support/browser-harness.js'
import { openIn, peerId, startSaveLoop, type Win, waitForAcks } from '../test-support/page-helpers.js'

// Runs in the node project: SIGKILLs Chromium's processes while a page saves in a loop.
const BATCH = 16

/** What a fresh page finds: the log must be whole batches, every byte intact, the hard state with it. */
async function recovered(page: Page) {
  return page.evaluate(async () => {
    const s = (globalThis as unknown as Win).held!
    const st = await s.load()
    const entries = await s.entries(st.firstIndex, st.lastIndex + 1)
    const intact = entries.every(
      (e, k) =>
        e.index === st.firstIndex + k &&
        e.data.length === 100 &&
        e.data.every((b) => b === ((e.index * 7 + e.term) & 0xff)),
    )
    return { lastIndex: st.lastIndex, commit: st.hardState.commit, count: entries.length, intact }
  })
}

it('keeps every acknowledged save across killed renderers and a killed browser, and nothing half-written', async () => {
  const id = peerId('kill')
  // A profile of our own, so that it outlives the killed browser.
  const profile = mkdtempSync(join(tmpdir(), 'flotilla-kill-'))
  let browser: IdbBrowser = await startIdbBrowser({ profile })
  const { port } = browser
  // Every acknowledgement reaches the test as it happens, up to the moment of the kill.
  let acked = 0
  const listen = (b: IdbBrowser) =>
    b.context.exposeBinding('flotillaAck', (_source, index: number) => {
      acked = Math.max(acked, index)
    })
  await listen(browser)
  try {
    for (let round = 1; round <= 4; round++) {
      const killAll = round === 4
      const page = await browser.newTab()
      // The killed tab's lock goes with its process; the new tab may have to wait a moment for it.
      await page.evaluate(async (peer) => {
        const w = globalThis as unknown as Win
        w.held = await w.flotillaIdb.openIdbStorage({ peerId: peer, wait: true })
      }, id)
      const found = await recovered(page)
      expect(found.intact).toBe(true)
      expect(found.lastIndex).toBeGreaterThanOrEqual(acked)
      expect(found.lastIndex % BATCH).toBe(0)
      expect(found.commit).toBe(found.lastIndex)
      expect(found.count).toBe(found.lastIndex)
      await startSaveLoop(page, BATCH, round)
      // Kill while saves are in flight: only what the page heard back counts as acknowledged.
      await waitForAcks(page, found.lastIndex + 20 * BATCH)
      const crashed = page.waitForEvent('crash').catch(() => {})
      expect(await browser.kill(killAll ? 'all' : 'renderers')).toBeGreaterThan(0)
      if (killAll) {
        await browser.close()
        browser = await startIdbBrowser({ profile, port })
        await listen(browser)
      } else {
        await crashed
        await page.close().catch(() => {})
      }
    }
    const page = await browser.newTab()
    expect(await openIn(page, id)).toBe('ok')
    const found = await recovered(page)
    expect(found).toMatchObject({ intact: true, commit: found.lastIndex, count: found.lastIndex })
    expect(found.lastIndex).toBeGreaterThanOrEqual(acked)
  } finally {
    await browser.close()
    rmSync(profile, { recursive: true, force: true })
  }
})
