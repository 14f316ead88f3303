import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { bundleWorker, startWorkerd, type Workerd } from '../../../scripts/runtimes/workerd.js'
import { type NodeGroup, startNodeGroup } from './support/node-group.js'

const D = 8
const vec = (i: number) => Array.from({ length: D }, (_, j) => Math.sin(i * 7 + j))

let group: NodeGroup | undefined
let workerd: Workerd | undefined
afterAll(async () => {
  await workerd?.stop()
  await group?.close()
})

/** The fields these tests read from the edge peer's JSON answers (join, status, search). */
interface EdgeAnswer {
  id: string
  role: string
  error?: { code: string }
  applied: number
  raftRole: string
  peer: string
  hits: { id: string }[]
  stalenessMs: number
  index: number
}

async function call(
  path: string,
  init?: { body?: unknown },
  name = 'edge-1',
): Promise<{ status: number; body: EdgeAnswer }> {
  const res = await fetch(`${workerd?.url}/peer/${name}${path}`, {
    method: init?.body === undefined ? 'GET' : 'POST',
    body: init?.body === undefined ? undefined : JSON.stringify(init.body),
  })
  return { status: res.status, body: (await res.json()) as EdgeAnswer }
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs
  while (Date.now() < end) {
    const v = await fn()
    if (v !== undefined) return v
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`timed out waiting for ${what}`)
}

describe('a Durable Object peer in workerd', () => {
  it('joins a Node group over libp2p WebSockets as a learner and answers bounded-staleness searches', async () => {
    group = await startNodeGroup(2)
    const leaderId = await group.leaderId()
    const leader = group.peers.find((p) => p.status().id === leaderId)
    if (!leader) throw new Error('the leader is not a Node peer')
    await leader.createCollection('docs', { dimensions: D, metric: 'cos' })
    const docs = leader.collection('docs')
    for (let i = 0; i < 20; i++) await docs.upsert(`d${i}`, vec(i), { i })

    const script = await bundleWorker(fileURLToPath(new URL('../src/worker.ts', import.meta.url)))
    workerd = await startWorkerd(script, { PEER: 'FlotillaEdgePeer' }, { FLOTILLA_INSECURE_LOCAL_DIALS: '1' })
    const joined = await call('/join', { body: { contacts: group.contacts() } })
    expect(joined.status, JSON.stringify(joined.body)).toBe(200)
    const edgeId = joined.body.id
    group.members.add(edgeId)
    await group.addMember(edgeId, 'learner')

    const target = leader.status().commit
    const status = await until('the edge peer to apply the log', async () => {
      const s = await call('/v1/status')
      return s.status === 200 && s.body.applied >= target ? s.body : undefined
    })
    expect(status.raftRole).toBe('follower')
    expect(leader.status().members.find((m) => m.id === edgeId)?.kind).toBe('learner')

    const query = vec(3)
    const expected = await docs.search(query, { k: 5, consistency: 'linearizable' })
    const found = await call('/v1/collections/docs/search?maxStalenessMs=5000', {
      body: { vector: query, k: 5 },
    })
    expect(found.status, JSON.stringify(found.body)).toBe(200)
    expect(found.body.peer).toBe(edgeId)
    expect(found.body.hits.map((h) => h.id)).toEqual(expected.hits.map((h) => h.id))
    expect(found.body.stalenessMs).toBeLessThanOrEqual(5000)

    // A write after the join reaches the replica: read it with minIndex.
    const { index } = await docs.upsert('late', vec(99), { late: true })
    const late = await call(`/v1/collections/docs/search?maxStalenessMs=5000&minIndex=${index}`, {
      body: { vector: vec(99), k: 1 },
    })
    expect(late.status, JSON.stringify(late.body)).toBe(200)
    expect(late.body.hits[0].id).toBe('late')
    expect(late.body.index).toBeGreaterThanOrEqual(index)
  })

  it('joins the same group as a witness, whose acknowledgements keep a Node peer writing', async () => {
    if (!group || !workerd) throw new Error('runs after the learner test, in the same group')
    const joined = await call('/join', { body: { contacts: group.contacts(), role: 'witness' } }, 'edge-w')
    expect(joined.status, JSON.stringify(joined.body)).toBe(200)
    const witnessId = joined.body.id
    group.members.add(witnessId)
    await group.addMember(witnessId, 'witness')
    const status = await call('/v1/status', undefined, 'edge-w')
    expect(status.body.role).toBe('witness')
    const refused = await call(
      '/v1/collections/docs/search?consistency=local',
      { body: { vector: vec(1), k: 1 } },
      'edge-w',
    )
    expect(refused.body.error?.code).toBe('ERR_WITNESS')

    // Voters now: two Node peers and the witness. Lose the Node follower: the leader's writes
    // commit only with the witness's acknowledgement.
    const leaderId = await group.leaderId()
    const follower = group.peers.find((p) => p.status().id !== leaderId && p.status().state === 'running')
    const leader = group.peers.find((p) => p.status().id === leaderId)
    if (!follower || !leader) throw new Error('expected a Node leader and a Node follower')
    await follower.close()
    const { index } = await leader.collection('docs').upsert('with-witness', vec(55))
    expect(index).toBeGreaterThan(0)
    const witnessMember = leader.status().members.find((m) => m.id === witnessId)
    expect(witnessMember?.kind).toBe('witness')
    expect(witnessMember?.match).toBeGreaterThanOrEqual(index)
  })
})
