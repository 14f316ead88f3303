import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type IdbBrowser, startIdbBrowser } from '../test-support/browser-harness.js'
import {
  openIn,
  peerId,
  readBack,
  startSaveLoop,
  unhandledIn,
  type Win,
  waitForAcks,
  waitIn,
  watchFailure,
  writeSome,
} from '../test-support/page-helpers.js'

// Runs in the node project: faults only a browser can cause, driven through playwright-core and CDP.
let browser: IdbBrowser
beforeAll(async () => {
  browser = await startIdbBrowser()
})
afterAll(async () => {
  await browser?.close()
})

/** Waits (in the page) until the store has failed; returns its error. */
async function failureOf(page: Page) {
  await page.waitForFunction(() => (globalThis as unknown as Win).failure !== undefined, undefined, {
    polling: 10,
  })
  return page.evaluate(() => (globalThis as unknown as Win).failure!)
}

async function loopEndOf(page: Page) {
  await page.waitForFunction(() => (globalThis as unknown as Win).loopEnd !== undefined, undefined, {
    polling: 10,
  })
  return page.evaluate(() => ({
    code: (globalThis as unknown as Win).loopEnd!,
    acked: (globalThis as unknown as Win).acked!,
  }))
}

/** What a later call on the failed store gets. */
const laterSave = (page: Page) =>
  page.evaluate(() =>
    (globalThis as unknown as Win).held!.save({ hardState: { term: 99, vote: 'late', commit: 0 } }).then(
      () => 'ok',
      (err: { code?: string }) => err.code ?? String(err),
    ),
  )

describe('IdbStorage when another tab steals the lock', () => {
  it('fails the holder at once, even while it is idle', async () => {
    const [a, b] = [await browser.newTab(), await browser.newTab()]
    const id = peerId('steal-idle')
    expect(await openIn(a, id)).toBe('ok')
    await watchFailure(a)
    await writeSome(a, 1, 11, 1)
    expect(await openIn(b, id, { steal: true })).toBe('ok')
    const failure = await failureOf(a)
    expect(failure.code).toBe('ERR_LOCKED')
    expect(failure.message).toContain(id)
    expect(await laterSave(a)).toBe('ERR_LOCKED')
    expect(await readBack(b)).toMatchObject({ lastIndex: 10, intact: true, hardState: { term: 1 } })
    expect(await unhandledIn(a)).toEqual([])
    await a.close()
    await b.close()
  })

  it('keeps every save the holder acknowledged and none after the steal', async () => {
    const [a, b] = [await browser.newTab(), await browser.newTab()]
    const id = peerId('steal-busy')
    expect(await openIn(a, id)).toBe('ok')
    await startSaveLoop(a, 8, 1)
    await waitForAcks(a, 200)
    expect(await openIn(b, id, { steal: true })).toBe('ok')
    const taken = await readBack(b)
    const end = await loopEndOf(a)
    expect(end.code).toBe('ERR_LOCKED')
    // The stealer saw everything acknowledged (and perhaps a save whose answer never arrived).
    expect(taken.lastIndex).toBeGreaterThanOrEqual(end.acked)
    expect(taken).toMatchObject({ intact: true, count: taken.lastIndex, terms: [1] })
    // The stealer writes on; nothing of the old holder lands afterwards.
    await writeSome(b, taken.lastIndex + 1, taken.lastIndex + 6, 2)
    await b.evaluate(() => (globalThis as unknown as Win).held!.close())
    expect(await openIn(b, id)).toBe('ok')
    expect(await readBack(b)).toMatchObject({
      lastIndex: taken.lastIndex + 5,
      count: taken.lastIndex + 5,
      intact: true,
      terms: [1, 2],
      hardState: { term: 2, commit: taken.lastIndex + 5 },
    })
    expect(await unhandledIn(a)).toEqual([])
    await a.close()
    await b.close()
  })
})

describe('IdbStorage when the browser closes its connection', () => {
  // Three rounds: Chromium leaves a write in flight at the close unanswered only some of the time.
  it.each([1, 2, 3])(
    'fails with ERR_UNAVAILABLE, rejects what is pending, lets go of the lock (round %i)',
    async () => {
      const page = await browser.newTab()
      const id = peerId('forced-close')
      expect(await openIn(page, id)).toBe('ok')
      await watchFailure(page)
      await writeSome(page, 1, 11, 1)
      await startSaveLoop(page, 4, 1)
      // Reads in flight when the connection goes must end in a StorageError, not a DOMException.
      await page.evaluate(() => {
        const w = globalThis as unknown as Win & { reads?: Promise<string[]> }
        const s = w.held!
        const reads: Promise<string>[] = []
        for (let i = 0; i < 200; i++)
          reads.push(
            s.entries(1, 11).then(
              () => 'ok',
              (err: Error & { code?: string }) => `${err.name}:${err.code}`,
            ),
          )
        w.reads = Promise.all(reads)
      })
      const cdp = await browser.context.newCDPSession(page)
      await cdp.send('Storage.clearDataForOrigin', {
        origin: new URL(browser.url).origin,
        storageTypes: 'indexeddb',
      })
      expect(await failureOf(page)).toMatchObject({ code: 'ERR_UNAVAILABLE' })
      expect((await loopEndOf(page)).code).toBe('ERR_UNAVAILABLE')
      const reads = await page.evaluate(
        () => (globalThis as unknown as Win & { reads: Promise<string[]> }).reads,
      )
      for (const r of new Set(reads)) expect(['ok', 'StorageError:ERR_UNAVAILABLE']).toContain(r)
      expect(await laterSave(page)).toBe('ERR_UNAVAILABLE')
      await page.evaluate(() => (globalThis as unknown as Win).held!.close())
      // The lock is free: another tab opens the peer (its data was cleared) and writes.
      const other = await browser.newTab()
      expect(await openIn(other, id)).toBe('ok')
      await writeSome(other, 1, 3, 1)
      expect(await readBack(other)).toMatchObject({ lastIndex: 2, intact: true })
      expect(await unhandledIn(page)).toEqual([])
      await page.close()
      await other.close()
    },
  )
})

describe('IdbStorage in a frozen tab', () => {
  it('lets go of the peer on freeze, fails its pending work, and can be opened again after resume', async () => {
    const [a, b] = [await browser.newTab(), await browser.newTab()]
    const id = peerId('frozen')
    expect(await openIn(a, id)).toBe('ok')
    await watchFailure(a)
    await startSaveLoop(a, 4, 1)
    await waitForAcks(a, 40)
    const cdpA = await browser.context.newCDPSession(a)
    await waitIn(b, id)
    await cdpA.send('Page.setWebLifecycleState', { state: 'frozen' })
    // The frozen tab let go: the waiting tab gets the peer, with everything acknowledged.
    expect(await b.evaluate(() => (globalThis as unknown as Win).waiting)).toBe('ok')
    const taken = await readBack(b)
    expect(taken).toMatchObject({ intact: true, count: taken.lastIndex, terms: [1] })
    await writeSome(b, taken.lastIndex + 1, taken.lastIndex + 3, 2)
    await b.evaluate(() => (globalThis as unknown as Win).held!.close())

    await cdpA.send('Page.setWebLifecycleState', { state: 'active' })
    const failure = await failureOf(a)
    expect(failure.code).toBe('ERR_UNAVAILABLE')
    expect(failure.message).toContain('frozen')
    const end = await loopEndOf(a)
    expect(end.code).toBe('ERR_UNAVAILABLE')
    expect(taken.lastIndex).toBeGreaterThanOrEqual(end.acked)
    expect(await laterSave(a)).toBe('ERR_UNAVAILABLE')
    // After resume the tab opens the peer again and finds the other tab's writes.
    expect(await openIn(a, id)).toBe('ok')
    expect(await readBack(a)).toMatchObject({ lastIndex: taken.lastIndex + 2, intact: true, terms: [1, 2] })
    expect(await unhandledIn(a)).toEqual([])
    await a.close()
    await b.close()
  })
})
