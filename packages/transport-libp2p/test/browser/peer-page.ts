/**
 * A browser peer for the Playwright tests and the bench: libp2p from `browserPeer`, our Raft
 * transport on it, and a small API on `window.peer` that the Node side drives.
 */
import { type Message, MessageType } from '@flotilla/core'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import {
  browserPeer,
  createLibp2pTransport,
  loadOrCreateIdentity,
  memoryKeyStore,
} from '../../src/browser/index.js'

const relay = new URLSearchParams(location.search).get('relay') ?? ''
const node = await createLibp2p(
  browserPeer({
    privateKey: await loadOrCreateIdentity(memoryKeyStore()),
    iceServers: [],
    allowInsecureLocalDials: true,
  }),
)
const transport = await createLibp2pTransport(node, { isMember: () => true })
const received: Message[] = []
const events: { peer: string; connected: boolean }[] = []
let echo = false
transport.onMessage((m) => {
  received.push(m)
  if (echo) transport.send({ ...m, from: m.to, to: m.from, type: MessageType.AppResp })
})
transport.onPeerEvent((e) => events.push(e))

await node.dial(multiaddr(relay))

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
    const conn = await node.dial(multiaddr(addr), { signal: AbortSignal.timeout(10_000) })
    await node.peerStore.merge(conn.remotePeer, { multiaddrs: [multiaddr(addr)] })
  },
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
        entries: bytes ? [{ term: 1, index: i, type: 0, data }] : [],
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
  },
  /** Round trips of one small message each, answered by a peer in echo mode; returns ms each. */
  async pings(to: string, n: number): Promise<number[]> {
    const out: number[] = []
    for (let i = 0; i < n; i++) {
      const before = received.length
      const t0 = performance.now()
      transport.send({ type: MessageType.Heartbeat, from: api.id, to, term: 1, commit: i })
      while (received.length === before)
        await new Promise<void>((r) => queueMicrotask(r)).then(() => new Promise((r) => setTimeout(r, 0)))
      out.push(performance.now() - t0)
    }
    return out
  },
}
;(globalThis as unknown as { peer: typeof api }).peer = api
document.title = `ready ${api.id}`
