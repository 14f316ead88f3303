import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { type Message, MessageType } from '@flotilla/core'
import type { Libp2p } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { afterEach, describe, expect, it } from 'vitest'
import { createLibp2pTransport, dialWithRetry, RAFT_PROTOCOL } from '../src/index.js'
import { nodePeer } from '../src/node/index.js'
import { appMessage, introduce, type Kind, startPeer, stop, type TestPeer, waitFor } from './helpers.js'

const KINDS: Kind[] = ['tcp', 'ws', 'quic']

/** Starts a peer from test/fixtures in its own process; it prints its id and addresses. */
async function startFixture(
  name: string,
  args: string[],
): Promise<{ child: ChildProcess; id: string; addrs: string[] }> {
  const file = fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url))
  const child = spawn(process.execPath, ['--import', 'tsx', file, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve)
    child.once('exit', (code) => reject(new Error(`slow peer exited ${code}`)))
  })
  return { child, ...JSON.parse(line) }
}
let running: TestPeer[] = []
afterEach(async () => {
  await stop(...running).catch(() => {})
  running = []
})

async function pair(kind: Kind, opts: Parameters<typeof startPeer>[1] = {}): Promise<[TestPeer, TestPeer]> {
  const a = await startPeer(kind, opts)
  const b = await startPeer(kind, opts)
  running.push(a, b)
  await introduce(a, b)
  await introduce(b, a)
  return [a, b]
}

/** Sends seq from..to-1, pausing while the queue is deep: Raft's own flow control does the same. */
async function sendRange(a: TestPeer, b: TestPeer, from: number, to: number, bytes = 0): Promise<void> {
  for (let i = from; i < to; i++) {
    while (a.transport.queued(b.transport.localId) > 1000) await new Promise((r) => setTimeout(r, 1))
    expect(a.transport.send(appMessage(a.transport.localId, b.transport.localId, i, bytes))).toBe(true)
  }
}

describe.each(KINDS)('Node <-> Node over %s', (kind) => {
  it('delivers 10,000 frames in order', async () => {
    const [a, b] = await pair(kind)
    await sendRange(a, b, 0, 10_000, 32)
    await waitFor(() => b.received.length >= 10_000, '10,000 frames')
    expect(b.received.map((m) => m.index)).toEqual(Array.from({ length: 10_000 }, (_, i) => i))
    expect(b.received[9999].from).toBe(a.transport.localId)
    expect(b.received[9999].entries?.[0].data.byteLength).toBe(32)
    const sa = a.transport.stats()
    expect(sa.framesSent.App).toBe(10_000)
    expect(Object.values(sa.drops).every((n) => n === 0)).toBe(true)
    expect(b.transport.stats().framesReceived.App).toBe(10_000)
    expect(b.transport.stats().bytesReceived.App).toBe(sa.bytesSent.App)
    expect(sa.bytesSent.App).toBeGreaterThan(10_000 * 32)
  })

  it('answers on the stream the remote opened: one stream per pair', async () => {
    const [a, b] = await pair(kind)
    b.transport.onMessage((m) => {
      b.received.push(m)
      b.transport.send({ type: MessageType.AppResp, from: m.to, to: m.from, term: 1, index: m.index })
    })
    await sendRange(a, b, 0, 100)
    await waitFor(() => a.received.length >= 100, 'replies')
    expect(a.received.map((m) => m.index)).toEqual(Array.from({ length: 100 }, (_, i) => i))
    const streams = a.node.getConnections(b.node.peerId).flatMap((c) => c.streams)
    expect(streams.filter((s) => s.protocol === RAFT_PROTOCOL)).toHaveLength(1)
  })

  it('settles on one stream when both ends open at once, losing nothing', async () => {
    const [a, b] = await pair(kind)
    for (let i = 0; i < 1000; i++) {
      a.transport.send(appMessage(a.transport.localId, b.transport.localId, i))
      b.transport.send(appMessage(b.transport.localId, a.transport.localId, i))
    }
    await waitFor(() => a.received.length >= 1000 && b.received.length >= 1000, 'both directions')
    const all = Array.from({ length: 1000 }, (_, i) => i)
    expect(a.received.map((m) => m.index).sort((x, y) => (x ?? 0) - (y ?? 0))).toEqual(all)
    expect(b.received.map((m) => m.index).sort((x, y) => (x ?? 0) - (y ?? 0))).toEqual(all)
    const raftStreams = (p: TestPeer, q: TestPeer): number =>
      p.node
        .getConnections(q.node.peerId)
        .flatMap((c) => c.streams)
        .filter((s) => s.protocol === RAFT_PROTOCOL).length
    await waitFor(() => raftStreams(a, b) === 1 && raftStreams(b, a) === 1, 'one stream per pair')
  })

  it('reconnects after the remote process is killed and restarted', async () => {
    const a = await startPeer(kind, { transport: { backOff: { initialMs: 20, maxMs: 500 } } })
    running.push(a)
    const dir = mkdtempSync(join(tmpdir(), 'flotilla-echo-'))
    const keyPath = join(dir, 'peer.key')
    let remote = await startFixture('echo-peer.ts', [kind, '0', keyPath])
    try {
      const port = remote.addrs[0].split('/')[4]
      await a.node.peerStore.merge(peerIdFromString(remote.id), {
        multiaddrs: remote.addrs.map((m) => multiaddr(m)),
      })
      const echoed = (): number[] => a.received.map((m) => m.index ?? -1)
      for (let i = 0; i < 100; i++) a.transport.send(appMessage(a.transport.localId, remote.id, i))
      await waitFor(() => a.received.length >= 100, 'echoes before the restart')
      expect(echoed()).toEqual(Array.from({ length: 100 }, (_, i) => i))

      remote.child.kill('SIGKILL')
      await new Promise((r) => remote.child.once('exit', r))
      const again = await startFixture('echo-peer.ts', [kind, port, keyPath])
      expect(again.id).toBe(remote.id)
      expect(again.addrs).toEqual(remote.addrs)
      remote = again
      // Raft keeps sending (heartbeats, retries): later frames reach the new process.
      let seq = 1000
      await waitFor(
        () => {
          a.transport.send(appMessage(a.transport.localId, remote.id, seq++))
          return a.received.length >= 105
        },
        'echoes after the restart',
        50_000,
      )
      const after = echoed().slice(100)
      expect(after.every((i, n) => i >= 1000 && (n === 0 || i > after[n - 1]))).toBe(true)
      expect(a.transport.stats().reconnects).toBeGreaterThanOrEqual(1)
    } finally {
      remote.child.kill('SIGKILL')
      rmSync(dir, { recursive: true, force: true })
    }
  }, 60_000)

  it('bounds memory against a slow reader: the queue drops and counts', async () => {
    const limits = { maxQueuedFrames: 64, maxQueuedBytes: 2 * 1024 * 1024 }
    const a = await startPeer(kind, { transport: { queue: limits } })
    running.push(a)
    // Its busy handler holds the event loop 20 ms per message, so it reads its socket slowly.
    const slow = await startFixture('slow-peer.ts', [kind, '20'])
    try {
      await a.node.peerStore.merge(peerIdFromString(slow.id), {
        multiaddrs: slow.addrs.map((m) => multiaddr(m)),
      })
      const frame = 64 * 1024
      const payload = new Uint8Array(frame)
      const held = (): number => process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers
      // Measure from an open connection, so that its set-up is not counted as growth.
      await a.node.dial(peerIdFromString(slow.id))
      const before = held()
      let accepted = 0
      let maxHeld = 0
      let maxUnsent = 0
      // Offer 256 MiB to a reader that takes ~3 MiB/s at best.
      for (let i = 0; i < 4096; i++) {
        const m = appMessage(a.transport.localId, slow.id, i)
        m.entries = [{ term: 1, index: i + 1, type: 0, data: payload }]
        if (a.transport.send(m)) accepted++
        if (i % 16 === 0) {
          await new Promise((r) => setImmediate(r))
          const unsent = a.node
            .getConnections(peerIdFromString(slow.id))
            .flatMap((c) => c.streams)
            .filter((st) => st.protocol === RAFT_PROTOCOL)
            .reduce((n, st) => n + st.writeBufferLength, 0)
          maxUnsent = Math.max(maxUnsent, unsent)
          maxHeld = Math.max(maxHeld, held() - before)
        }
      }
      const s = a.transport.stats()
      expect(s.drops['queue-full']).toBe(4096 - accepted)
      expect(s.drops['queue-full']).toBeGreaterThan(2048)
      expect(s.maxQueuedFrames).toBeLessThanOrEqual(limits.maxQueuedFrames)
      expect(s.maxQueuedBytes).toBeLessThanOrEqual(limits.maxQueuedBytes)
      // The libp2p stream holds at most the pump's high-water mark plus one frame.
      expect(maxUnsent).toBeLessThanOrEqual(256 * 1024 + frame + 16)
      // 256 MiB were offered; heap and buffers (garbage included: noise, yamux) grow far less.
      expect(maxHeld).toBeLessThan(96 * 1024 * 1024)
    } finally {
      slow.child.kill()
    }
  })
})

describe('Node <-> Node over WebRTC-direct', () => {
  it('delivers 1,000 frames in order after a dial with retry', async () => {
    const only = { tcpPort: false, wsPort: false, quicPort: false } as const
    const peers: TestPeer[] = []
    for (let i = 0; i < 2; i++) {
      const node = await createLibp2p(nodePeer({ host: '127.0.0.1', ...only }))
      const transport = await createLibp2pTransport(node, { isMember: () => true })
      const received: Message[] = []
      transport.onMessage((m) => received.push(m))
      peers.push({ node, transport, received })
      running.push(peers[i])
    }
    const [a, b] = peers
    // WebRTC dials from Node sometimes hang after ICE: short attempts, retried.
    const conn = await dialWithRetry(a.node, b.node.getMultiaddrs()[0], { attemptTimeoutMs: 5000 })
    expect(conn.remoteAddr.toString()).toMatch(/\/webrtc-direct\//)
    await sendRange(a, b, 0, 1000, 64)
    await waitFor(() => b.received.length >= 1000, '1,000 frames')
    expect(b.received.map((m) => m.index)).toEqual(Array.from({ length: 1000 }, (_, i) => i))
  })
})

describe('circuit relay v2 server', () => {
  it('raises the relayed-connection data limit above libp2p’s 128 KiB', async () => {
    const only = { wsPort: false, quicPort: false, webrtcDirectPort: false } as const
    const start = async (extra: string[] = [], relay = false): Promise<Libp2p> => {
      const opts = nodePeer({ host: '127.0.0.1', ...only, relay })
      const node = await createLibp2p({
        ...opts,
        addresses: { listen: [...(opts.addresses?.listen ?? []), ...extra] },
      })
      nodes.push(node)
      return node
    }
    const nodes: Libp2p[] = []
    try {
      const relay = await start([], true)
      const a = await start(['/p2p-circuit'])
      const b = await start()
      await a.dial(relay.getMultiaddrs()[0])
      await waitFor(
        () => a.getMultiaddrs().some((m) => m.toString().includes('/p2p-circuit')),
        'a reservation',
      )
      const circuit = a.getMultiaddrs().find((m) => m.toString().includes('/p2p-circuit'))!
      const ta = await createLibp2pTransport(a, { isMember: () => true, allowLimitedConnections: true })
      const tb = await createLibp2pTransport(b, { isMember: () => true, allowLimitedConnections: true })
      let got = 0
      ta.onMessage(() => got++)
      const conn = await b.dial(circuit)
      expect(conn.limits).toBeDefined()
      // 1 MiB through the relay: with libp2p's default limits the relay stops after 128 KiB.
      for (let i = 0; i < 64; i++) tb.send(appMessage(tb.localId, ta.localId, i, 16 * 1024))
      await waitFor(() => got >= 64, '1 MiB through the relay')
      await ta.close()
      await tb.close()
    } finally {
      for (const n of nodes) await n.stop()
    }
  })
})

describe('membership and bad input', () => {
  // A stranger's stream is reset before any of its bytes are read (the gate comes first), so
  // its frames never reach the decoder; its link backs off and gives them up as unreachable.
  it('refuses the streams of a PeerId that is not a member, before reading them', async () => {
    const a = await startPeer('tcp')
    const c = await startPeer('tcp')
    let b: TestPeer | undefined
    b = await startPeer('tcp', { transport: { isMember: (p) => p === c.transport.localId } })
    running.push(a, b, c)
    await introduce(a, b)
    await introduce(c, b)
    for (let i = 0; i < 10; i++) a.transport.send(appMessage(a.transport.localId, b.transport.localId, i))
    for (let i = 0; i < 3; i++) c.transport.send(appMessage(c.transport.localId, b.transport.localId, i))
    // a's frames either wait in its queue until it gives them up (the reset came before they
    // left) or were written into the stream b reset (after they left): which one is timing.
    await waitFor(
      () =>
        (b?.received.length ?? 0) >= 3 &&
        (b?.transport.stats().drops['not-member'] ?? 0) >= 1 &&
        (a.transport.stats().drops.unreachable >= 10 || a.transport.queued(b!.transport.localId) === 0),
      'b to refuse a and serve c',
    )
    expect(b.received.every((m: Message) => m.from === c.transport.localId)).toBe(true)
    expect(b.received).toHaveLength(3)
    const refused = b.transport.stats().drops['not-member']
    expect(refused).toBeGreaterThanOrEqual(1)
    // Backed off, not spinning: a handful of attempts, not thousands.
    expect(refused).toBeLessThanOrEqual(8)
    expect(b.transport.stats().bytesReceived).toEqual({ App: expect.any(Number) })
  })

  it('drops a message whose from is not the sending PeerId', async () => {
    const [a, b] = await pair('tcp')
    a.transport.send({ ...appMessage(b.transport.localId, b.transport.localId, 1), from: 'someone-else' })
    a.transport.send(appMessage(a.transport.localId, b.transport.localId, 2))
    await waitFor(() => b.received.length >= 1, 'the honest frame')
    expect(b.received.map((m) => m.index)).toEqual([2])
    expect(b.transport.stats().drops.misaddressed).toBe(1)
  })

  it('closes a stream that carries garbage and goes on serving others', async () => {
    const [a, b] = await pair('tcp')
    const rogue = await startPeer('tcp')
    running.push(rogue)
    await introduce(rogue, b)
    const junk = [
      new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x7f]), // length far over the cap
      new Uint8Array([0x03, 0x01, 0x02, 0x03]), // a frame that is not CBOR of a message
      new Uint8Array([0x00]), // an empty frame
    ]
    for (const bytes of junk) {
      const stream = await rogue.node.dialProtocol(b.node.peerId, RAFT_PROTOCOL)
      const closed = new Promise((r) => stream.addEventListener('close', r))
      stream.send(bytes)
      await closed
    }
    const s = b.transport.stats()
    expect(s.drops.oversized).toBe(2)
    expect(s.drops.malformed).toBe(1)
    expect(s.streamsClosedOnError).toBe(3)
    await sendRange(a, b, 0, 10)
    await waitFor(() => b.received.length >= 10, 'frames after garbage')
  })

  it('sends snapshot chunks on their own stream, never ahead of heartbeats', async () => {
    const [a, b] = await pair('tcp', { transport: { maxSnapshotFrameBytes: 32 * 1024 * 1024 } })
    const order: number[] = []
    b.transport.onMessage((m) => order.push(m.type))
    const meta = {
      index: 1,
      term: 1,
      conf: {
        voters: [a.transport.localId],
        outgoing: [],
        learners: [],
        learnersNext: [],
        witnesses: [],
        autoLeave: false,
      },
    }
    const data = new Uint8Array(16 * 1024 * 1024)
    a.transport.send({
      type: MessageType.Snap,
      from: a.transport.localId,
      to: b.transport.localId,
      term: 1,
      snapshot: { meta, offset: 0, total: data.byteLength, data },
    })
    a.transport.send({
      type: MessageType.Heartbeat,
      from: a.transport.localId,
      to: b.transport.localId,
      term: 1,
      commit: 1,
    })
    await waitFor(() => order.length === 2, 'both messages')
    expect(order).toEqual([MessageType.Heartbeat, MessageType.Snap])
  })

  it('reports connect and disconnect of members', async () => {
    const [a, b] = await pair('tcp')
    const events: string[] = []
    a.transport.onPeerEvent((e) =>
      events.push(`${e.peer === b.transport.localId ? 'b' : '?'}:${e.connected}`),
    )
    a.transport.send(appMessage(a.transport.localId, b.transport.localId, 1))
    await waitFor(() => events.includes('b:true'), 'connect')
    await stop(b)
    running = running.filter((p) => p !== b)
    await waitFor(() => events.includes('b:false'), 'disconnect')
  })
})
