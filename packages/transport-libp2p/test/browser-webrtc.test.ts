import { mkdtempSync, rmSync } from 'node:fs'
import type { Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MessageType } from '@flotilla/core'
import type { Libp2p } from '@libp2p/interface'
import { createLibp2p } from 'libp2p'
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../../../scripts/chromium.js'
import { createLibp2pTransport } from '../src/index.js'
import { nodePeer } from '../src/node/index.js'
import { buildPeerPage, servePage } from './browser/harness.js'

// The page's API (test/browser/peer-page.ts), as seen from here.
type PeerApi = {
  id: string
  webrtcAddr(): Promise<string>
  connect(addr: string): Promise<void>
  tryConnect(addr: string): Promise<string>
  setMembers(ids: string[]): void
  gateStats(): { connectionsRefused: number; relayedRefused: number } | undefined
  connections(peer: string): { addr: string; limited: boolean; raftStreams: number }[]
  send(to: string, from: number, count: number, bytes: number): number
  received(): number[]
  receivedCount(): number
  events(): { peer: string; connected: boolean }[]
}
declare const peer: PeerApi

let dir: string
let server: Server
let url: string
let relay: Libp2p
let relayAddr: string
let browser: Browser

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'flotilla-peer-page-'))
  await buildPeerPage(dir)
  ;({ url, server } = await servePage(dir))
  relay = await createLibp2p(
    nodePeer({ host: '127.0.0.1', relay: true, tcpPort: false, quicPort: false, webrtcDirectPort: false }),
  )
  relayAddr = relay
    .getMultiaddrs()
    .map(String)
    .find((a) => a.includes('/ws/'))!
  browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS })
}, 120_000)

afterAll(async () => {
  await browser?.close()
  await relay?.stop()
  server?.close()
  rmSync(dir, { recursive: true, force: true })
})

/** Chromium gathers no loopback ICE candidates unless the context may use camera and mic. */
async function newContext(): Promise<BrowserContext> {
  return browser.newContext({ permissions: ['camera', 'microphone'] })
}

async function openPeer(context: BrowserContext, gated = false): Promise<{ page: Page; id: string }> {
  const page = await context.newPage()
  await page.goto(`${url}?relay=${encodeURIComponent(relayAddr)}${gated ? '&gated' : ''}`)
  await page.waitForFunction(() => typeof peer !== 'undefined', null, { timeout: 30_000 })
  return { page, id: await page.evaluate(() => peer.id) }
}

async function meetAndExchange(a: { page: Page; id: string }, b: { page: Page; id: string }): Promise<void> {
  // B dials A through the relay; the relay only signals, the connection is WebRTC.
  const addrA = await a.page.evaluate(() => peer.webrtcAddr())
  await b.page.evaluate((addr) => peer.connect(addr), addrA)

  expect(await b.page.evaluate((to) => peer.send(to, 0, 2000, 100), a.id)).toBe(2000)
  await a.page.waitForFunction(() => peer.receivedCount() >= 2000, null, { timeout: 30_000 })
  expect(await a.page.evaluate(() => peer.received())).toEqual(Array.from({ length: 2000 }, (_, i) => i))
  // And back, on the stream B opened.
  expect(await a.page.evaluate((to) => peer.send(to, 0, 500, 1000), b.id)).toBe(500)
  await b.page.waitForFunction(() => peer.receivedCount() >= 500, null, { timeout: 30_000 })
  expect(await b.page.evaluate(() => peer.received())).toEqual(Array.from({ length: 500 }, (_, i) => i))

  // Every Raft stream is on a direct WebRTC connection, none on the relayed (limited) one.
  for (const [self, other] of [
    [a, b],
    [b, a],
  ] as const) {
    const conns = await self.page.evaluate((id) => peer.connections(id), other.id)
    const carrying = conns.filter((c) => c.raftStreams > 0)
    expect(carrying.length).toBeGreaterThan(0)
    for (const c of carrying) {
      expect(c.limited).toBe(false)
      expect(c.addr).toMatch(/\/webrtc\//)
    }
  }
}

async function expectDisconnectSeen(by: { page: Page }, closed: { page: Page; id: string }): Promise<void> {
  await closed.page.close()
  await by.page.waitForFunction((id) => peer.events().some((e) => e.peer === id && !e.connected), closed.id, {
    timeout: 60_000,
    polling: 100,
  })
}

describe('browser <-> browser over WebRTC through a Node relay', () => {
  it('two tabs of one context exchange frames directly; closing one is a disconnect', async () => {
    const context = await newContext()
    try {
      const a = await openPeer(context)
      const b = await openPeer(context)
      await meetAndExchange(a, b)
      await expectDisconnectSeen(b, a)
    } finally {
      await context.close()
    }
  }, 120_000)

  it('two separate contexts exchange frames directly; closing one is a disconnect', async () => {
    const ctxA = await newContext()
    const ctxB = await newContext()
    try {
      const a = await openPeer(ctxA)
      const b = await openPeer(ctxB)
      await meetAndExchange(a, b)
      await expectDisconnectSeen(a, b)
    } finally {
      await ctxA.close()
      await ctxB.close()
    }
  }, 120_000)
})

describe('a tab with a membership gate', () => {
  it('refuses a stranger tab dialling it through the relay, and lets a member in over WebRTC', async () => {
    const context = await newContext()
    try {
      const a = await openPeer(context, true)
      const member = await openPeer(context)
      const stranger = await openPeer(context)
      // The relay stays allowed: a gate closes connections of peers outside it.
      await a.page.evaluate((ids) => peer.setMembers(ids), [a.id, member.id, relay.peerId.toString()])
      const addrA = await a.page.evaluate(() => peer.webrtcAddr())
      const refused = await stranger.page.evaluate((addr) => peer.tryConnect(addr), addrA)
      expect(refused).not.toBe('connected')
      const stats = await a.page.evaluate(() => peer.gateStats())
      expect((stats?.relayedRefused ?? 0) + (stats?.connectionsRefused ?? 0)).toBeGreaterThan(0)
      expect(await a.page.evaluate((id) => peer.connections(id), stranger.id)).toEqual([])
      await meetAndExchange(a, member)
    } finally {
      await context.close()
    }
  }, 120_000)
})

describe('browser <-> Node over WebRTC-direct', () => {
  it('a page dials a Node peer’s WebRTC-direct listener and they exchange frames', async () => {
    const node = await createLibp2p(
      nodePeer({ host: '127.0.0.1', tcpPort: false, wsPort: false, quicPort: false }),
    )
    const transport = await createLibp2pTransport(node, { isMember: () => true })
    const got: number[] = []
    transport.onMessage((m) => got.push(m.index ?? -1))
    const context = await newContext()
    try {
      const page = await openPeer(context)
      const addr = node
        .getMultiaddrs()
        .map(String)
        .find((a) => a.includes('/webrtc-direct/'))!
      await page.page.evaluate((a) => peer.connect(a), addr)
      expect(await page.page.evaluate((to) => peer.send(to, 0, 500, 100), node.peerId.toString())).toBe(500)
      await waitUntil(() => got.length >= 500)
      expect(got).toEqual(Array.from({ length: 500 }, (_, i) => i))
      for (let i = 0; i < 100; i++) {
        transport.send({ type: MessageType.App, from: transport.localId, to: page.id, term: 1, index: i })
      }
      await page.page.waitForFunction(() => peer.receivedCount() >= 100, null, { timeout: 30_000 })
      expect(await page.page.evaluate(() => peer.received())).toEqual(
        Array.from({ length: 100 }, (_, i) => i),
      )
      const conns = await page.page.evaluate((id) => peer.connections(id), node.peerId.toString())
      expect(conns.some((c) => c.raftStreams > 0 && !c.limited && c.addr.includes('/webrtc-direct/'))).toBe(
        true,
      )
    } finally {
      await context.close()
      await transport.close()
      await node.stop()
    }
  }, 120_000)
})

async function waitUntil(cond: () => boolean, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > until) throw new Error('timed out')
    await new Promise((r) => setTimeout(r, 10))
  }
}
