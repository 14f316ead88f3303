/**
 * A browser peer for the Playwright tests and the bench: libp2p from `browserPeer`, our Raft
 * transport on it, and a small API on `window.peer` that the Node side drives.
 */
import { type Message, MessageType } from '@flotilla/core'
import type { Stream } from '@libp2p/interface'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import {
  browserPeer,
  createLibp2pTransport,
  dialWithRetry,
  loadOrCreateIdentity,
  membershipGate,
  memoryKeyStore,
} from '../../src/browser/index.js'
import { rawSend } from '../raw-send.js'

const params = new URLSearchParams(location.search)
const relay = params.get('relay') ?? ''
const privateKey = await loadOrCreateIdentity(memoryKeyStore())
// `?gated`: a membership gate, members set by the test (`setMembers`); until then only itself.
const gate = params.has('gated')
  ? membershipGate({ members: [peerIdFromPrivateKey(privateKey).toString()] })
  : undefined
const node = await createLibp2p(
  browserPeer({ privateKey, iceServers: [], allowInsecureLocalDials: true, ...(gate ? { gate } : {}) }),
)
// Queues sized for the bench's bursts; the Node tests cover the bounded defaults.
const transport = await createLibp2pTransport(node, {
  isMember: () => true,
  queue: { maxQueuedFrames: 1_000_000, maxQueuedBytes: 1024 * 1024 * 1024 },
})
const received: Message[] = []
const events: { peer: string; connected: boolean }[] = []
let echo = false
transport.onMessage((m) => {
  received.push(m)
  if (echo) transport.send({ ...m, from: m.to, to: m.from, type: MessageType.AppResp })
  arrived()
})
transport.onPeerEvent((e) => events.push(e))

await node.dial(multiaddr(relay))

// Bench baseline: a raw libp2p stream without our framing; it counts bytes, or echoes them.
const RAW = '/flotilla-bench/raw/1.0.0'
let rawBytes = 0
let rawEcho = false
await node.handle(
  RAW,
  (stream) => {
    stream.addEventListener('message', (e) => {
      rawBytes += e.data.byteLength
      if (rawEcho) stream.send(e.data)
      arrived()
    })
  },
  { runOnLimitedConnection: false },
)
const rawStreams = new Map<string, Stream>()
async function rawStream(to: string): Promise<Stream> {
  let s = rawStreams.get(to)
  if (!s) {
    s = await node.dialProtocol(peerIdFromString(to), RAW)
    rawStreams.set(to, s)
  }
  return s
}
/** Waiters checked on every arrival: no timer polling, which browsers clamp to 4 ms. */
const waiters = new Set<() => void>()
function arrived(): void {
  for (const w of waiters) w()
}
function until(cond: () => boolean): Promise<number> {
  if (cond()) return Promise.resolve(Date.now())
  return new Promise((resolve) => {
    const check = (): void => {
      if (!cond()) return
      waiters.delete(check)
      resolve(Date.now())
    }
    waiters.add(check)
  })
}

const api = {
  id: node.peerId.toString(),
  /** Our address through the relay for WebRTC signalling, once the reservation is made. */
  async webrtcAddr(): Promise<string> {
    for (;;) {
      const a = node
        .getMultiaddrs()
        .map(String)
        .find((s) => s.includes('/p2p-circuit/webrtc'))
      if (a) return a
      await new Promise((r) => setTimeout(r, 50))
    }
  },
  async connect(addr: string): Promise<void> {
    // Signalling, ICE, DTLS and noise can outlast the default 5 s per attempt while CI's other
    // suites load both cores; a cut-short attempt starts all of it again.
    const conn = await dialWithRetry(node, multiaddr(addr), { attemptTimeoutMs: 15_000 })
    await node.peerStore.merge(conn.remotePeer, { multiaddrs: [multiaddr(addr)] })
  },
  /** One dial, no retry: 'connected', or why it failed. */
  async tryConnect(addr: string): Promise<string> {
    try {
      await node.dial(multiaddr(addr), { signal: AbortSignal.timeout(15_000) })
      return 'connected'
    } catch (err) {
      return (err as Error).message || String(err)
    }
  },
  setMembers(ids: string[]): void {
    gate?.setMembers(ids)
  },
  gateStats: () => gate?.stats(),
  /** The connections to `peer`: address and whether it is limited (relayed). */
  connections(peer: string): { addr: string; limited: boolean; raftStreams: number }[] {
    return node.getConnections(peerIdFromString(peer)).map((c) => ({
      addr: c.remoteAddr.toString(),
      limited: c.limits !== undefined,
      raftStreams: c.streams.filter((s) => s.protocol.startsWith('/flotilla/')).length,
    }))
  },
  send(to: string, from: number, count: number, bytes: number): number {
    let ok = 0
    const data = new Uint8Array(bytes)
    for (let i = from; i < from + count; i++) {
      const m: Message = {
        type: MessageType.App,
        from: api.id,
        to,
        term: 1,
        index: i,
        entries: bytes ? [{ term: 1, index: i + 1, type: 0, data }] : [],
      }
      if (transport.send(m)) ok++
    }
    return ok
  },
  queued: (peer: string) => transport.queued(peer),
  received: () => received.map((m) => m.index ?? -1),
  receivedCount: () => received.length,
  events: () => events,
  stats: () => transport.stats(),
  setEcho(on: boolean): void {
    echo = on
    rawEcho = on
  },
  /** Resolves with Date.now() once `n` messages in all have arrived. */
  waitCount: (n: number) => until(() => received.length >= n),
  /**
   * Sends `count` App messages of `bytes` each; returns Date.now() at the start. Each has its own
   * payload array, as each raw write has (the bench compares like with like).
   */
  blast(to: string, count: number, bytes: number): number {
    const t0 = Date.now()
    for (let i = 0; i < count; i++) {
      const data = new Uint8Array(bytes)
      transport.send({
        type: MessageType.App,
        from: api.id,
        to,
        term: 1,
        index: i,
        entries: [{ term: 1, index: i + 1, type: 0, data }],
      })
    }
    return t0
  },
  rawWaitBytes: (n: number) => until(() => rawBytes >= n),
  async rawBlast(to: string, count: number, bytes: number): Promise<number> {
    const s = await rawStream(to)
    const t0 = Date.now()
    await rawSend(s, count, bytes)
    return t0
  },
  /** Raw round trips of `bytes` each; returns ms each. */
  async rawPings(to: string, n: number, bytes: number): Promise<number[]> {
    const s = await rawStream(to)
    const out: number[] = []
    let got = 0
    const onMessage = (e: { data: { byteLength: number } }): void => {
      got += e.data.byteLength
      arrived()
    }
    s.addEventListener('message', onMessage)
    for (let i = 0; i < n; i++) {
      const target = got + bytes
      const t0 = performance.now()
      s.send(new Uint8Array(bytes))
      await until(() => got >= target)
      out.push(performance.now() - t0)
    }
    s.removeEventListener('message', onMessage)
    return out
  },
  /** Round trips of one small message each, answered by a peer in echo mode; returns ms each. */
  async pings(to: string, n: number): Promise<number[]> {
    const out: number[] = []
    for (let i = 0; i < n; i++) {
      const before = received.length
      const t0 = performance.now()
      transport.send({ type: MessageType.Heartbeat, from: api.id, to, term: 1, commit: i })
      await until(() => received.length > before)
      out.push(performance.now() - t0)
    }
    return out
  },
}
;(globalThis as unknown as { peer: typeof api }).peer = api
document.title = `ready ${api.id}`
