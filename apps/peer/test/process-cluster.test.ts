import { identify } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { peerIdFromString } from '@libp2p/peer-id'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FAST, PeerProcess, TestCluster, until } from './support/processes.js'

// Real processes: `flotilla-peer start` on loopback, storage-fs in temporary folders, libp2p
// over TCP. Each shape: create, write, then read and search from every data peer at every level.

/** A js-libp2p node with no Flotilla code: TCP, noise, yamux, identify, ping. */
async function plainNode() {
  return createLibp2p({
    addresses: { listen: [] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify(), ping: ping() },
  })
}

const LEVELS = [
  'consistency=linearizable',
  'consistency=lease',
  'consistency=bounded&maxStalenessMs=2000',
  'consistency=local',
]

async function exerciseEveryPeer(cluster: TestCluster): Promise<void> {
  const http = cluster.http
  const [first, second] = cluster.dataPeers
  const create = await http.send(`${first.url}/v1/collections/docs`, 'PUT', { dimensions: 3, metric: 'cos' })
  expect(create.status).toBe(201)
  // A write sent to any data peer (followers forward it) answers with the index it committed at.
  const up = await http.send<{ index: number; upserted: number }>(
    `${second.url}/v1/collections/docs/points`,
    'POST',
    {
      points: [
        { id: 'a', vector: [1, 0, 0], metadata: { title: 'first' } },
        { id: 'b', vector: [0, 1, 0], metadata: { title: 'second' } },
      ],
    },
  )
  expect(up.status).toBe(200)
  expect(up.body.upserted).toBe(2)
  const index = up.body.index
  for (const p of cluster.dataPeers) {
    for (const level of LEVELS) {
      const q = `${level}&minIndex=${index}`
      const got = await http.get<{ metadata: { title: string } }>(
        `${p.url}/v1/collections/docs/points/a?${q}`,
      )
      expect(got.status, `${p.id} ${level}`).toBe(200)
      expect(got.body.metadata.title).toBe('first')
      expect(Number(got.headers['flotilla-read-index'])).toBeGreaterThanOrEqual(index)
      expect(got.headers['flotilla-staleness-ms']).toBeDefined()
      const hits = await http.send<{ hits: Array<{ id: string }> }>(
        `${p.url}/v1/collections/docs/search?${q}`,
        'POST',
        { vector: [0.9, 0.1, 0], k: 2 },
      )
      expect(hits.status, `${p.id} ${level} search`).toBe(200)
      expect(hits.body.hits.map((h) => h.id)).toEqual(['a', 'b'])
    }
  }
}

describe('three data peers', () => {
  let cluster: TestCluster
  beforeAll(async () => {
    // Snapshots every 40 entries, so that a peer added later has to receive one.
    cluster = await TestCluster.start({ data: 3, args: [...FAST, '--snapshot-entries', '40'] })
  })
  afterAll(async () => cluster?.stop())

  it('creates, writes, reads and searches from every peer at every consistency level', async () => {
    await exerciseEveryPeer(cluster)
  })

  it('adds a fourth peer that joins as a learner, receives a snapshot and is promoted; then removes it', async () => {
    const http = cluster.http
    const leader = await cluster.leader()
    expect(
      (await http.send(`${leader.url}/v1/collections/grow`, 'PUT', { dimensions: 3, metric: 'l2sq' })).status,
    ).toBe(201)
    let last = 0
    for (let i = 0; i < 60; i++) {
      const r = await http.send<{ index: number }>(`${leader.url}/v1/collections/grow/points`, 'POST', {
        points: [{ id: `p${i}`, vector: [1, i + 1, 0], metadata: { i } }],
      })
      expect(r.status).toBe(200)
      last = r.body.index
    }
    const fourth = await PeerProcess.create(cluster.root, 'd3')
    const follower = cluster.peers.find((p) => p !== leader) as PeerProcess
    fourth.start(['--join', follower.multiaddr, ...FAST])
    try {
      // Without a token the group refuses it at the handshake until an operator adds it, here
      // through a follower, which passes the request on to the leader.
      await until('the fourth peer to start', async () => fourth.logs().some((l) => l.event === 'started'))
      expect(fourth.logs().some((l) => l.event === 'joined')).toBe(false)
      const added = http.send<{ index: number }>(
        `${follower.url}/v1/members`,
        'POST',
        { id: fourth.id, as: 'voter', addrs: [`/ip4/127.0.0.1/tcp/${fourth.tcpPort}`] },
        {},
        90_000,
      )
      await until(
        'the fourth peer to be a voter',
        async () =>
          (await cluster.status(leader)).members.some((m) => m.id === fourth.id && m.kind === 'voter'),
        90_000,
      )
      expect((await added).status).toBe(200)
      const events = fourth.logs()
      expect(events.some((l) => l.event === 'snapshot' && l.kind === 'installed')).toBe(true)
      const got = await http.get<{ metadata: { i: number } }>(
        `${fourth.url}/v1/collections/grow/points/p59?consistency=local&minIndex=${last}`,
      )
      expect(got.status).toBe(200)
      expect(got.body.metadata.i).toBe(59)

      const removed = await http.send(`${follower.url}/v1/members/${fourth.id}`, 'DELETE')
      expect(removed.status).toBe(200)
      const members = (await cluster.status(leader)).members.map((m) => m.id)
      expect(members).not.toContain(fourth.id)
      expect(members).toHaveLength(3)
      // Its connections are closed by the gates, which follow the membership.
      await until('a gate to close the removed peer’s connections', async () => {
        const texts = await Promise.all(cluster.peers.map((p) => http.get<string>(`${p.url}/metrics`)))
        return texts.some((t) =>
          /flotilla_gate_refused_total\{kind="connectionsClosed"\} [1-9]/.test(String(t.body)),
        )
      })
    } catch (error) {
      throw new Error(`${(error as Error).message}\nfourth peer's log:\n${fourth.output.slice(-3000)}`)
    } finally {
      await fourth.kill()
    }
  }, 180_000)

  it('refuses a non-member at the handshake and counts it', async () => {
    const target = cluster.dataPeers[0]
    const node = await plainNode()
    try {
      // The gate refuses the connection once noise has proven the PeerId, before any stream.
      await expect(node.services.ping.ping(multiaddr(target.multiaddr))).rejects.toThrow()
      expect(node.getConnections(peerIdFromString(target.id))).toHaveLength(0)
      const metrics = await cluster.http.get<string>(`${target.url}/metrics`)
      const refused = /flotilla_gate_refused_total\{kind="connectionsRefused"\} (\d+)/.exec(
        String(metrics.body),
      )
      expect(Number(refused?.[1] ?? 0)).toBeGreaterThanOrEqual(1)
    } finally {
      await node.stop()
    }
  })

  it('refuses bad input with 400 naming the field, stores nothing, and answers 404s', async () => {
    const http = cluster.http
    const url = cluster.dataPeers[2].url
    const before = await http.get<{ count: number }>(`${url}/v1/collections/docs`)
    const wrong = await http.send<{ error: { code: string; field: string } }>(
      `${url}/v1/collections/docs/points`,
      'POST',
      { points: [{ id: 'z', vector: [1, 2] }] },
    )
    expect(wrong.status).toBe(400)
    expect(wrong.body.error.code).toBe('ERR_DIMENSION_MISMATCH')
    expect(wrong.body.error.field).toMatch(/vector/)
    const malformed = await http.send(`${url}/v1/collections/docs/points`, 'POST', '{"points": [')
    expect(malformed.status).toBe(400)
    expect((await http.get(`${url}/v1/collections/nope/points/a`)).status).toBe(404)
    expect((await http.get(`${url}/v1/collections/docs/points/none`)).status).toBe(404)
    const after = await http.get<{ count: number }>(`${url}/v1/collections/docs?minIndex=0`)
    expect(after.body.count).toBe(before.body.count)
    const logs = cluster.peers.map((p) => p.output).join('')
    expect(logs).not.toContain('"z"')
  })

  it('exports Prometheus metrics, health and readiness', async () => {
    const p = cluster.dataPeers[0]
    const metrics = await cluster.http.get<string>(`${p.url}/metrics`)
    expect(metrics.status).toBe(200)
    for (const name of [
      'flotilla_raft_term',
      'flotilla_raft_commit_index',
      'flotilla_fsync_seconds_bucket',
      'flotilla_apply_seconds_count',
      'flotilla_http_requests_total',
      'libp2p_',
    ]) {
      expect(metrics.body).toContain(name)
    }
    expect((await cluster.http.get(`${p.url}/healthz`)).status).toBe(200)
    expect((await cluster.http.get(`${p.url}/readyz`)).status).toBe(200)
  })

  it('refuses a second start on the same folder with a clear message', async () => {
    const p = cluster.dataPeers[0]
    const { spawnSync } = await import('node:child_process')
    const { dirname, join } = await import('node:path')
    const { fileURLToPath } = await import('node:url')
    const bin = join(dirname(fileURLToPath(import.meta.url)), '../bin/flotilla-peer.js')
    const r = spawnSync(
      process.execPath,
      [bin, 'start', '--data', p.data, '--listen', '/ip4/127.0.0.1/tcp/0', '--http', ''],
      {
        encoding: 'utf8',
        timeout: 110_000,
      },
    )
    expect(r.status).toBe(3)
    expect(r.stderr).toMatch(/is locked by .*process \d+/)
  }, 120_000)

  it('on SIGTERM a leader hands over, then the process exits cleanly', async () => {
    const leader = await cluster.leader()
    leader.signal('SIGTERM')
    expect(await leader.exited).toBe(0)
    const lines = leader.logs()
    const stopping = lines.findIndex((l) => l.event === 'stopping')
    // It stepped down (leadership handed over) before it stopped.
    const steppedDown = lines.findIndex((l, i) => i > stopping && l.event === 'role' && l.role === 'follower')
    expect(stopping).toBeGreaterThan(0)
    expect(steppedDown).toBeGreaterThan(stopping)
    expect(lines.at(-1)?.event).toBe('stopped')
    const rest = cluster.peers.filter((p) => p !== leader)
    const next = await until('a new leader', async () => {
      const s = await cluster.status(rest[0])
      return s.leader && s.leader !== leader.id ? s.leader : undefined
    })
    expect(rest.map((p) => p.id)).toContain(next)
    cluster.startPeer(leader)
    await cluster.waitReady()
  }, 180_000)
})

describe('two data peers and a witness', () => {
  let cluster: TestCluster
  beforeAll(async () => {
    // Every peer here also runs a circuit-relay-v2 server (--relay), as a witness for tabs would.
    cluster = await TestCluster.start({ data: 2, witnesses: 1, args: [...FAST, '--relay'] })
  })
  afterAll(async () => cluster?.stop())

  it('serves circuit relay v2 with --relay', async () => {
    const witness = cluster.peers.find((p) => p.role === 'witness') as PeerProcess
    const node = await plainNode()
    try {
      const conn = await node.dial(multiaddr(witness.multiaddr))
      // identify runs on connect; the protocols it learned land in the peer store.
      const protocols = await until('identify to finish', async () => {
        const known = await node.peerStore.get(conn.remotePeer).catch(() => null)
        return known && known.protocols.length > 0 ? known.protocols : undefined
      })
      expect(protocols).toContain('/libp2p/circuit/relay/0.2.0/hop')
    } finally {
      await node.stop()
    }
  })

  it('an open relay (--relay, no token) answers a plain js-libp2p node: ping and identify', async () => {
    const target = cluster.peers.find((p) => p.role === 'witness') as PeerProcess
    const node = await plainNode()
    try {
      const rtt = await node.services.ping.ping(multiaddr(target.multiaddr))
      expect(rtt).toBeGreaterThanOrEqual(0)
      const conn = node.getConnections()[0]
      const record = await node.services.identify.identify(conn)
      expect(record.peerId.toString()).toBe(target.id)
      expect(record.protocols).toContain('/flotilla/raft/1.0.0')
      expect(record.protocols).toContain('/ipfs/ping/1.0.0')
      expect(record.listenAddrs.map(String)).toContain(`/ip4/127.0.0.1/tcp/${target.tcpPort}`)
    } finally {
      await node.stop()
    }
  })

  it('creates, writes, reads and searches from every data peer at every level; the witness serves none', async () => {
    await exerciseEveryPeer(cluster)
    const witness = cluster.peers.find((p) => p.role === 'witness') as PeerProcess
    const r = await cluster.http.get<{ error: { code: string } }>(
      `${witness.url}/v1/collections/docs/points/a`,
    )
    expect(r.status).toBe(409)
    expect(r.body.error.code).toBe('ERR_WITNESS')
  })
})
