import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createLibp2p } from 'libp2p'
import { chromium, type Page } from 'playwright-core'
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../../../scripts/chromium.js'
import { nodePeer } from '../src/node/index.js'
import { buildPeerPage, servePage } from '../test/browser/harness.js'
import { type EnvFigures, median, percentile, throughput } from './measure.js'

// The page's API (test/browser/peer-page.ts), as seen from here.
type PeerApi = {
  id: string
  webrtcAddr(): Promise<string>
  connect(addr: string): Promise<void>
  setEcho(on: boolean): void
  waitCount(n: number): Promise<number>
  receivedCount(): number
  blast(to: string, count: number, bytes: number): number
  rawWaitBytes(n: number): Promise<number>
  rawBlast(to: string, count: number, bytes: number): Promise<number>
  pings(to: string, n: number): Promise<number[]>
  rawPings(to: string, n: number, bytes: number): Promise<number[]>
}
declare const peer: PeerApi

/** Two Chromium contexts, each a browser peer, joined by direct WebRTC via a Node relay. */
export async function measureBrowser(counts: {
  small: number
  large: number
  pings: number
  rounds: number
}): Promise<EnvFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-bench-page-'))
  await buildPeerPage(dir)
  const { url, server } = await servePage(dir)
  const relay = await createLibp2p(
    nodePeer({ host: '127.0.0.1', relay: true, tcpPort: false, quicPort: false, webrtcDirectPort: false }),
  )
  const relayAddr = relay
    .getMultiaddrs()
    .map(String)
    .find((a) => a.includes('/ws/'))!
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS })
  try {
    const pages: Page[] = []
    for (let i = 0; i < 2; i++) {
      const ctx = await browser.newContext({ permissions: ['camera', 'microphone'] })
      const page = await ctx.newPage()
      await page.goto(`${url}?relay=${encodeURIComponent(relayAddr)}`)
      await page.waitForFunction(() => typeof peer !== 'undefined', null, { timeout: 30_000 })
      pages.push(page)
    }
    const [a, b] = pages
    const idB = await b.evaluate(() => peer.id)
    await a.evaluate(async (addr) => peer.connect(addr), await b.evaluate(() => peer.webrtcAddr()))

    const ours = async (count: number, bytes: number): Promise<number> => {
      const have = await b.evaluate(() => peer.receivedCount())
      const done = b.evaluate((n) => peer.waitCount(n), have + count)
      const t0 = await a.evaluate(([to, c, s]) => peer.blast(to, c, s), [idB, count, bytes] as const)
      return (await done) - t0
    }
    let rawTotal = 0
    const raw = async (count: number, bytes: number): Promise<number> => {
      rawTotal += count * bytes
      const done = b.evaluate((n) => peer.rawWaitBytes(n), rawTotal)
      const t0 = await a.evaluate(([to, c, s]) => peer.rawBlast(to, c, s), [idB, count, bytes] as const)
      return (await done) - t0
    }
    await ours(1000, 128)
    await raw(1000, 128)
    const runs = {
      small: [] as number[],
      large: [] as number[],
      rawSmall: [] as number[],
      rawLarge: [] as number[],
    }
    for (let r = 0; r < counts.rounds; r++) {
      if (r % 2 === 0) {
        runs.small.push(await ours(counts.small, 128))
        runs.rawSmall.push(await raw(counts.small, 128))
        runs.large.push(await ours(counts.large, 65536))
        runs.rawLarge.push(await raw(counts.large, 65536))
      } else {
        runs.rawSmall.push(await raw(counts.small, 128))
        runs.small.push(await ours(counts.small, 128))
        runs.rawLarge.push(await raw(counts.large, 65536))
        runs.large.push(await ours(counts.large, 65536))
      }
    }
    await b.evaluate(() => peer.setEcho(true))
    const rtt = await a.evaluate(([to, n]) => peer.pings(to, n), [idB, counts.pings] as const)
    const rawRtt = await a.evaluate(([to, n]) => peer.rawPings(to, n, 8), [idB, counts.pings] as const)
    return {
      small: throughput(counts.small, 128, median(runs.small)),
      large: throughput(counts.large, 65536, median(runs.large)),
      rawSmall: throughput(counts.small, 128, median(runs.rawSmall)),
      rawLarge: throughput(counts.large, 65536, median(runs.rawLarge)),
      rttP50: percentile(rtt, 50),
      rttP99: percentile(rtt, 99),
      rawRttP50: percentile(rawRtt, 50),
      rawRttP99: percentile(rawRtt, 99),
    }
  } finally {
    await browser.close()
    await relay.stop()
    server.close()
    rmSync(dir, { recursive: true, force: true })
  }
}
