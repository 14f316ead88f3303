// The real parts together: openPeer over storage-fs in temporary folders and libp2p over TCP on
// loopback.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openPeer, type Peer } from '@flotilla/core'
import { CuttableTransport } from '@flotilla/core/test-support/test-network'
import { openFsStorage } from '@flotilla/storage-fs'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { createLibp2p } from 'libp2p'
import { afterEach, describe, expect, it } from 'vitest'
import { createLibp2pTransport, nodePeer } from '../src/node/index.js'

const RAFT = { tickMs: 50, electionTicks: 10 }
const vec = (i: number) => [Math.cos(i), Math.sin(i), 0.25, i % 7]

interface Member {
  id: string
  key: PrivateKey
  dir: string
  role: 'data' | 'witness'
  node?: Libp2p
  link?: CuttableTransport
  peer?: Peer
}

let members: Member[] = []
let root = ''

afterEach(async () => {
  for (const m of members) await stopMember(m)
  members = []
  if (root) await rm(root, { recursive: true, force: true })
  root = ''
})

async function makeMembers(data: number, witnesses: number): Promise<Member[]> {
  root = await mkdtemp(join(tmpdir(), 'flotilla-group-'))
  const out: Member[] = []
  for (let i = 0; i < data + witnesses; i++) {
    const key = await generateKeyPair('Ed25519')
    const id = peerIdFromPrivateKey(key).toString()
    out.push({ id, key, dir: join(root, `p${i}`), role: i < data ? 'data' : 'witness' })
  }
  members = out
  return out
}

async function startMember(m: Member, bootstrap?: { voters: string[]; witnesses: string[] }): Promise<Peer> {
  const node = await createLibp2p(
    nodePeer({
      host: '127.0.0.1',
      wsPort: false,
      quicPort: false,
      webrtcDirectPort: false,
      privateKey: m.key,
    }),
  )
  let peer: Peer | undefined
  const transport = await createLibp2pTransport(node, { isMember: (id) => peer?.isMember(id) ?? true })
  m.node = node
  m.link = new CuttableTransport(transport)
  for (const other of members) {
    if (other === m || !other.node) continue
    await node.peerStore.merge(other.node.peerId, { multiaddrs: other.node.getMultiaddrs() })
    await other.node.peerStore.merge(node.peerId, { multiaddrs: node.getMultiaddrs() })
  }
  peer = await openPeer({
    id: m.id,
    storage: await openFsStorage({ dir: m.dir }),
    transport: m.link,
    role: m.role,
    ...(bootstrap ? { bootstrap } : {}),
    raft: RAFT,
    // Low, so that a joiner is brought up by a real snapshot, not by replaying the log.
    snapshot: { entries: 20 },
  })
  m.peer = peer
  return peer
}

async function stopMember(m: Member): Promise<void> {
  await m.peer?.close({ transfer: false })
  await m.node?.stop()
  m.peer = undefined
  m.node = undefined
}

async function leaderOf(list: Member[]): Promise<Peer> {
  for (let i = 0; i < 300; i++) {
    const l = list.find((m) => m.peer?.status().raftRole === 'leader' && m.role === 'data')
    if (l?.peer) return l.peer
    await new Promise<void>((r) => setTimeout(r, 20))
  }
  throw new Error('no data leader')
}

async function retryOnLeader<T>(list: Member[], fn: (p: Peer) => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(await leaderOf(list))
    } catch (err) {
      const code = (err as { code?: string }).code
      if (attempt > 10 || (code !== 'ERR_NOT_LEADER' && code !== 'ERR_NO_LEADER')) throw err
    }
  }
}

describe('openPeer over storage-fs and libp2p', () => {
  it('3 data peers: write, fail over, restart from disk, add a member by snapshot, bounded reads go stale when cut off', async () => {
    const all = await makeMembers(4, 0)
    const founders = all.slice(0, 3)
    const bootstrap = { voters: founders.map((m) => m.id), witnesses: [] }
    for (const m of founders) await startMember(m, bootstrap)
    const first = await leaderOf(founders)
    await first.createCollection('docs', { dimensions: 4, metric: 'l2sq' })
    let last = 0
    for (let i = 0; i < 30; i++) last = (await first.collection('docs').upsert(`p${i}`, vec(i), { i })).index

    // Every peer serves every consistency level.
    for (const m of founders) {
      const docs = m.peer!.collection('docs')
      expect((await docs.count({ minIndex: last })).count).toBe(30)
      expect((await docs.count({ consistency: { maxStalenessMs: 2000 }, minIndex: last })).count).toBe(30)
      expect((await docs.count({ consistency: 'local', minIndex: last })).count).toBe(30)
    }

    // Fail over: stop the leader's process; the others elect a new leader and keep writing.
    const old = founders.find((m) => m.peer === first)!
    await stopMember(old)
    const rest = founders.filter((m) => m !== old)
    await retryOnLeader(rest, (p) => p.collection('docs').upsert('after-failover', vec(99)))

    // Restart from its folder: it recovers its log and catches up without a snapshot.
    const back = await startMember(old)
    const r = await back.collection('docs').search(vec(99), { k: 1 })
    expect(r.hits[0].id).toBe('after-failover')
    expect(back.metrics().snapshotsInstalled).toBe(0)

    // A fourth peer joins empty and receives the state by snapshot.
    const joiner = all[3]
    const j = await startMember(joiner)
    await retryOnLeader(founders, (p) => p.addMember(joiner.id, { as: 'voter', timeoutMs: 30_000 }))
    const joined = await j.collection('docs').count({ consistency: 'linearizable' })
    expect(joined.count).toBe(31)
    expect(j.metrics().snapshotsInstalled).toBeGreaterThan(0)
    expect(j.status().snapshotIndex).toBeGreaterThan(20)

    // Cut a follower off: its bounded reads hold while the bound does, then fail with ERR_STALE.
    const leader = await leaderOf(all)
    const follower = all.find((m) => m.peer && m.peer !== leader && m.role === 'data')!
    follower.link!.cut = true
    const stale = await follower
      .peer!.collection('docs')
      .count({ consistency: { maxStalenessMs: 300 } })
      .then(
        () => null,
        (e) => e,
      )
    // Within 300 ms of the cut the bound may still hold; wait and ask again.
    await new Promise<void>((r) => setTimeout(r, 600))
    const later = await follower
      .peer!.collection('docs')
      .count({ consistency: { maxStalenessMs: 300 } })
      .then(
        () => null,
        (e) => e,
      )
    expect(later?.code).toBe('ERR_STALE')
    expect(later.stalenessMs === null || later.stalenessMs > 300).toBe(true)
    if (stale) expect(stale.code).toBe('ERR_STALE')
    follower.link!.cut = false
  }, 120_000)

  it('2 data peers and a witness: the loss of a data peer keeps the group writing; the witness refuses data', async () => {
    const all = await makeMembers(2, 1)
    const bootstrap = { voters: all.slice(0, 2).map((m) => m.id), witnesses: [all[2].id] }
    for (const m of all) await startMember(m, bootstrap)
    const leader = await leaderOf(all)
    await leader.createCollection('docs', { dimensions: 4, metric: 'cos' })
    for (let i = 0; i < 10; i++) await leader.collection('docs').upsert(`p${i}`, vec(i + 1))
    await expect(all[2].peer!.collection('docs').count()).rejects.toMatchObject({ code: 'ERR_WITNESS' })

    const lost = all.find((m) => m.peer === leader)!
    await stopMember(lost)
    const rest = all.filter((m) => m !== lost)
    const w = await retryOnLeader(rest, (p) => p.collection('docs').upsert('after', vec(42)))
    const survivor = rest.find((m) => m.role === 'data')!.peer!
    expect((await survivor.collection('docs').count({ minIndex: w.index })).count).toBe(11)

    await startMember(lost)
    const again = lost.peer!
    expect((await again.collection('docs').count({ minIndex: w.index })).count).toBe(11)
  }, 120_000)
})
