import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type IdbBrowser, loadPage, startIdbBrowser } from '../test-support/browser-harness.js'
import { openIn, peerId, readBack, type Win, waitIn, writeSome } from '../test-support/page-helpers.js'

// Runs in the node project: drives real Chromium (on-disk profile) through playwright-core.
let browser: IdbBrowser
beforeAll(async () => {
  browser = await startIdbBrowser()
})
afterAll(async () => {
  await browser?.close()
})

describe('IdbStorage in real Chromium tabs', () => {
  it('keeps what it acknowledged across a page reload', async () => {
    const page = await browser.newTab()
    const id = peerId('reload')
    expect(await openIn(page, id)).toBe('ok')
    await writeSome(page, 1, 201, 1)
    await writeSome(page, 150, 251, 2) // overwrite a suffix
    await page.evaluate(async () => {
      const s = (globalThis as unknown as Win).held!
      const conf = {
        voters: ['tab'],
        outgoing: [],
        learners: [],
        learnersNext: [],
        witnesses: [],
        autoLeave: false,
      }
      await s.writeSnapshot({ index: 100, term: 1, conf }, [new Uint8Array([1, 2, 3]), new Uint8Array([4])])
      await s.compact(50)
    })
    // Reload without closing: the document goes away, and with it the Web Lock.
    await loadPage(page)
    expect(await openIn(page, id)).toBe('ok')
    const back = await readBack(page)
    expect(back).toMatchObject({
      firstIndex: 51,
      lastIndex: 250,
      count: 200,
      intact: true,
      hardState: { term: 2, vote: 'tab', commit: 250 },
      snapshot: [1, 2, 3, 4],
    })
    expect(back.snapshot).toEqual([1, 2, 3, 4])
    await page.close()
  })

  it('lets only one of two tabs open a peer; the other gets ERR_LOCKED or waits its turn', async () => {
    const a = await browser.newTab()
    const b = await browser.newTab()
    const id = peerId('tabs')
    expect(await openIn(a, id)).toBe('ok')
    expect(await openIn(b, id)).toBe('ERR_LOCKED')
    await writeSome(a, 1, 11, 3)
    await waitIn(b, id)
    await new Promise((r) => setTimeout(r, 200))
    expect(await b.evaluate(() => (globalThis as unknown as Win).held === undefined)).toBe(true)
    await a.evaluate(() => (globalThis as unknown as Win).held!.close())
    expect(await b.evaluate(() => (globalThis as unknown as Win).waiting)).toBe('ok')
    expect(await readBack(b)).toMatchObject({ lastIndex: 10, count: 10, intact: true })

    // Closing a tab without closing the storage releases the lock too.
    const c = await browser.newTab()
    await waitIn(c, id)
    await b.close()
    expect(await c.evaluate(() => (globalThis as unknown as Win).waiting)).toBe('ok')
    expect(await readBack(c)).toMatchObject({
      lastIndex: 10,
      intact: true,
      hardState: { term: 3, commit: 10 },
    })
    await a.close()
    await c.close()
  })

  it('turns QuotaExceededError into ERR_QUOTA and keeps the store consistent', async () => {
    // A browser of its own: Chromium applies a quota override only to storage not yet in use.
    const own = await startIdbBrowser()
    const page = await own.newTab()
    const cdp = await own.context.newCDPSession(page)
    const origin = new URL(own.url).origin
    await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: 4 * 1024 * 1024 })
    const id = peerId('quota')
    expect(await openIn(page, id)).toBe('ok')
    await writeSome(page, 1, 11, 1)
    const outcome = await page.evaluate(async () => {
      const s = (globalThis as unknown as Win).held!
      let index = (await s.load()).lastIndex + 1
      for (let i = 0; i < 400; i++) {
        const entries = []
        for (let k = 0; k < 4; k++) {
          const data = new Uint8Array(256 * 1024)
          for (let at = 0; at < data.length; at += 65536)
            crypto.getRandomValues(data.subarray(at, at + 65536))
          entries.push({ index: index + k, term: 1, type: 0 as const, data })
        }
        try {
          await s.save({ entries, hardState: { term: 1, vote: 'tab', commit: index + 3 } })
          index += 4
        } catch (err) {
          const st = await s.load()
          return { code: (err as { code?: string }).code, acknowledged: index - 1, ...st }
        }
      }
      return { code: 'none', acknowledged: index - 1 }
    })
    expect(outcome.code).toBe('ERR_QUOTA')
    expect(outcome).toMatchObject({
      lastIndex: outcome.acknowledged,
      hardState: { commit: outcome.acknowledged },
    })
    await cdp.send('Storage.overrideQuotaForOrigin', { origin })
    // After a reload the database agrees with what was acknowledged, and takes writes again.
    await loadPage(page)
    expect(await openIn(page, id)).toBe('ok')
    const st = await page.evaluate(async () => {
      const s = (globalThis as unknown as Win).held!
      const st = await s.load()
      const last = await s.entries(st.lastIndex, st.lastIndex + 1)
      await s.save({
        entries: [{ index: st.lastIndex + 1, term: 1, type: 0 as const, data: new Uint8Array(1) }],
      })
      return { ...st, lastSize: last[0].data.length, after: (await s.load()).lastIndex }
    })
    expect(st.lastIndex).toBe(outcome.acknowledged)
    expect(st.lastSize).toBe(256 * 1024)
    expect(st.after).toBe(outcome.acknowledged + 1)
    await own.close()
  })
})
