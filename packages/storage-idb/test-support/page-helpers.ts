import type { Page } from 'playwright-core'
import type * as api from '../src/index.js'

/** What the test page exposes: the package itself, as `globalThis.flotillaIdb`. */
export type PageApi = typeof api

/** The page's globals the helpers use; each helper runs inside the tab through page.evaluate. */
export type Win = {
  flotillaIdb: PageApi
  unhandled: string[]
  held?: Awaited<ReturnType<PageApi['openIdbStorage']>>
  waiting?: Promise<string>
  /** Set when `held.failed` resolves (see watchFailure). */
  failure?: { code: string; message: string }
  /** The save loop (see startSaveLoop): last acknowledged index, and how it ended. */
  acked?: number
  loopEnd?: string
  /** If the test exposed it: told of every acknowledgement at once, so that it outlives a kill. */
  flotillaAck?: (index: number) => void
}

export const peerId = (name: string) => `${name}-${Math.random().toString(36).slice(2)}`

/** Opens the store in the page as `held`; returns 'ok' or the error code. */
export async function openIn(page: Page, peerId: string, options: { steal?: boolean } = {}): Promise<string> {
  return page.evaluate(
    async ({ id, steal }) => {
      const w = globalThis as unknown as Win
      try {
        w.held = await w.flotillaIdb.openIdbStorage({ peerId: id, steal })
        return 'ok'
      } catch (err) {
        return (err as { code?: string }).code ?? String(err)
      }
    },
    { id: peerId, steal: options.steal },
  )
}

/** Starts waiting for the lock in the page; `waiting` resolves 'ok' once the store is open. */
export async function waitIn(page: Page, peerId: string): Promise<void> {
  await page.evaluate((id) => {
    const w = globalThis as unknown as Win
    w.waiting = w.flotillaIdb.openIdbStorage({ peerId: id, wait: true }).then((s) => {
      w.held = s
      return 'ok'
    })
  }, peerId)
}

/** Saves entries [lo, hi) of `term` (100 bytes each, a pattern of index and term) and the hard state. */
export async function writeSome(page: Page, lo: number, hi: number, term: number): Promise<void> {
  await page.evaluate(
    async ({ lo, hi, term }) => {
      const s = (globalThis as unknown as Win).held!
      const entries = []
      for (let i = lo; i < hi; i++)
        entries.push({
          index: i,
          term,
          type: 0 as const,
          data: new Uint8Array(100).fill((i * 7 + term) & 0xff),
        })
      await s.save({ entries, hardState: { term, vote: 'tab', commit: hi - 1 } })
    },
    { lo, hi, term },
  )
}

/**
 * Starts saving batches of `batch` entries of `term` after the last index, in the background,
 * each with a hard state committing it; `acked` is the last acknowledged index, `loopEnd` the
 * error code that stopped the loop.
 */
export async function startSaveLoop(page: Page, batch: number, term: number): Promise<void> {
  await page.evaluate(
    async ({ batch, term }) => {
      const w = globalThis as unknown as Win
      const s = w.held!
      let next = (await s.load()).lastIndex + 1
      w.acked = next - 1
      void (async () => {
        for (;;) {
          const entries = []
          for (let i = next; i < next + batch; i++)
            entries.push({
              index: i,
              term,
              type: 0 as const,
              data: new Uint8Array(100).fill((i * 7 + term) & 0xff),
            })
          try {
            await s.save({ entries, hardState: { term, vote: 'tab', commit: next + batch - 1 } })
          } catch (err) {
            w.loopEnd = (err as { code?: string }).code ?? String(err)
            return
          }
          next += batch
          w.acked = next - 1
          w.flotillaAck?.(w.acked)
        }
      })()
    },
    { batch, term },
  )
}

/**
 * Waits until the save loop has acknowledged past `above`; returns the last acknowledged index.
 * Polls on a timer: a tab in the background runs no animation frames.
 */
export async function waitForAcks(page: Page, above: number): Promise<number> {
  await page.waitForFunction((n) => ((globalThis as unknown as Win).acked ?? 0) > n, above, { polling: 5 })
  return page.evaluate(() => (globalThis as unknown as Win).acked!)
}

/** Records in the page when `held.failed` resolves. */
export async function watchFailure(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = globalThis as unknown as Win
    void w.held!.failed.then((err) => {
      w.failure = { code: err.code, message: err.message }
    })
  })
}

/** Reads the whole log back and checks every byte in the page; returns a summary. */
export async function readBack(page: Page) {
  return page.evaluate(async () => {
    const s = (globalThis as unknown as Win).held!
    const st = await s.load()
    const entries = await s.entries(st.firstIndex, st.lastIndex + 1)
    const intact = entries.every(
      (e) => e.data.length === 100 && e.data.every((b) => b === ((e.index * 7 + e.term) & 0xff)),
    )
    let snapshot: number[] | null = null
    const snap = await s.readSnapshot()
    if (snap) {
      snapshot = []
      for await (const c of snap.chunks()) snapshot.push(...c)
    }
    return { ...st, count: entries.length, terms: [...new Set(entries.map((e) => e.term))], intact, snapshot }
  })
}

/** Unhandled rejections the page has seen. */
export const unhandledIn = (page: Page) => page.evaluate(() => (globalThis as unknown as Win).unhandled)
