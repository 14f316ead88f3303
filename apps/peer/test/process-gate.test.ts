import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { requestAdmission } from '@flotilla/transport-libp2p/node'
import { identify } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { peerIdFromString } from '@libp2p/peer-id'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { admissionToken, STRANGER_GRACE_MS } from '../src/p2p/gate.js'
import { HttpClient } from './support/http-client.js'
import { FAST, PeerProcess, until } from './support/processes.js'

// A group with a token, over real connections: strangers may connect for a few seconds (to
// show the token), get no Raft stream, and are cut off; a joiner with the token gets in, one
// with a wrong token does not; tabs get relay admission only with an HMAC of their PeerId.

const TOKEN = 'group-secret'

async function plainNode() {
  return createLibp2p({
    addresses: { listen: [] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify(), ping: ping() },
  })
}

describe('a relay peer with a token', () => {
  let root: string
  let founder: PeerProcess
  const http = new HttpClient(8)
  const members = async () =>
    (await http.get<{ members: Array<{ id: string; kind: string }> }>(`${founder.url}/v1/members`)).body
      .members

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'flotilla-gate-'))
    founder = await PeerProcess.create(root, 'founder')
    founder.start(['--relay', '--token', TOKEN, ...FAST])
    await until('the founder to lead', async () => (await members()).length === 1, 30_000)
  })
  afterAll(async () => {
    await founder?.kill()
    http.close()
    await rm(root, { recursive: true, force: true })
  })

  it('lets a stranger connect, refuses it a Raft stream, and cuts it off after the grace period', async () => {
    const node = await plainNode()
    const target = peerIdFromString(founder.id)
    try {
      expect(await node.services.ping.ping(multiaddr(founder.multiaddr))).toBeGreaterThanOrEqual(0)
      const stream = await node.dialProtocol(target, '/flotilla/raft/1.0.0')
      // Reset before any of our bytes is read.
      await until('the Raft stream to be reset', async () => stream.status !== 'open', 5000)
      await until(
        'the stranger to be disconnected',
        async () => node.getConnections(target).length === 0,
        STRANGER_GRACE_MS + 10_000,
      )
      const metrics = String((await http.get<string>(`${founder.url}/metrics`)).body)
      expect(metrics).toMatch(/flotilla_transport_drops_total\{reason="not-member"\} [1-9]/)
      expect(metrics).toMatch(/flotilla_gate_refused_total\{kind="connectionsClosed"\} [1-9]/)
    } finally {
      await node.stop()
    }
  }, 40_000)

  it('admits a tab that shows an HMAC of its PeerId under the token, not one that guesses', async () => {
    const tab = await plainNode()
    try {
      const relay = multiaddr(founder.multiaddr)
      expect(await requestAdmission(tab, relay, new TextEncoder().encode('guess'))).toBe(false)
      expect(await requestAdmission(tab, relay, admissionToken(TOKEN, tab.peerId.toString()))).toBe(true)
    } finally {
      await tab.stop()
    }
  })

  it('adds a joiner that shows the token and never one with a wrong token', async () => {
    const good = await PeerProcess.create(root, 'good')
    const bad = await PeerProcess.create(root, 'bad')
    good.start(['--join', founder.multiaddr, '--token', TOKEN, ...FAST])
    bad.start(['--join', founder.multiaddr, '--token', 'wrong', ...FAST])
    try {
      await until(
        'the joiner with the token to be a voter',
        async () => (await members()).some((m) => m.id === good.id && m.kind === 'voter'),
        60_000,
      )
      await until('the wrong token to be refused', async () =>
        bad.logs().some((l) => l.event === 'join' && JSON.stringify(l.error ?? '').includes('token')),
      )
      expect((await members()).map((m) => m.id)).not.toContain(bad.id)
    } catch (error) {
      throw new Error(`${(error as Error).message}\njoiner's log:\n${good.output.slice(-2000)}`)
    } finally {
      await good.kill()
      await bad.kill()
    }
  }, 90_000)
})
