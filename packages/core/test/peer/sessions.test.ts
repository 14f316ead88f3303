import { afterEach, describe, expect, it } from 'vitest'
import { FailStopError } from '../../src/index.js'
import { peerInternals } from '../../src/peer/internals.js'
import { type TestGroup, testGroup } from './helpers.js'

let group: TestGroup | undefined
afterEach(async () => {
  await group?.close()
  group = undefined
})

describe('sessions, back-pressure, events', () => {
  it('a write retried with the same session applies once and answers the first result', async () => {
    group = await testGroup(['a', 'b', 'c'])
    const leader = await group.leader()
    await leader.createCollection('docs', { dimensions: 2, metric: 'l2sq' })
    const follower = [...group.peers.values()].find((p) => p !== leader)!
    const session = { client: 'app-1', seq: 7 }
    const first = await follower.collection('docs').upsert('x', [1, 2], { v: 1 }, { session })
    // A retry (the same command) answers the first result without applying again.
    const again = await leader.collection('docs').upsert('x', [1, 2], { v: 1 }, { session })
    expect(again.index).toBe(first.index)
    // The same number on another command is refused, not answered with the old result (issue 16).
    await expect(leader.collection('docs').upsert('x', [9, 9], { v: 2 }, { session })).rejects.toMatchObject({
      code: 'ERR_SESSION_REUSED',
    })
    const r = await leader.collection('docs').get('x')
    expect(r.point?.metadata).toEqual({ v: 1 })
    await expect(
      leader.collection('docs').upsert('y', [1, 1], undefined, { session: { client: 'app-1', seq: 6 } }),
    ).rejects.toMatchObject({
      code: 'ERR_STALE_SESSION',
    })
  })

  it('fails fast with ERR_BACKPRESSURE and a retry hint past the pending-write limit', async () => {
    group = await testGroup(['a', 'b', 'c'], { extra: { limits: { maxPendingWrites: 4 } } })
    const leader = await group.leader()
    await leader.createCollection('docs', { dimensions: 2, metric: 'l2sq' })
    const docs = leader.collection('docs')
    const outcomes = await Promise.allSettled(
      Array.from({ length: 12 }, (_, i) => docs.upsert(`p${i}`, [i, i])),
    )
    const refused = outcomes.filter((o) => o.status === 'rejected')
    expect(refused.length).toBeGreaterThan(0)
    for (const o of refused) {
      const e = (o as PromiseRejectedResult).reason
      expect(e.code).toBe('ERR_BACKPRESSURE')
      expect(e.retryAfterMs).toBeGreaterThan(0)
    }
    const accepted = outcomes.length - refused.length
    expect((await docs.count()).count).toBe(accepted)
  })

  it('reports leader changes as events and counts elections, proposals and reads', async () => {
    group = await testGroup(['a', 'b', 'c'])
    const leaders: (string | null)[] = []
    for (const p of group.peers.values()) p.on('leader', (e) => leaders.push(e.leader))
    const leader = await group.leader()
    await leader.createCollection('docs', { dimensions: 2, metric: 'l2sq' })
    await leader.collection('docs').count({ consistency: 'lease' })
    const target = [...group.peers.keys()].find((id) => id !== leader.id)!
    await leader.transferLeadership(target)
    expect(leaders).toContain(target)
    const m = leader.metrics()
    expect(m.proposals.ok).toBeGreaterThanOrEqual(1)
    expect(m.reads['lease:ok']).toBe(1)
    expect(m.fsyncSeconds.count).toBeGreaterThan(0)
    expect(m.messagesSent.App).toBeGreaterThan(0)
    const total = [...group.peers.values()].reduce((n, p) => n + p.metrics().electionsWon, 0)
    expect(total).toBeGreaterThanOrEqual(1)
  })

  it('rejects bad options and arguments with ERR_INVALID naming the field', async () => {
    group = await testGroup(['a', 'b', 'c'])
    const leader = await group.leader()
    await leader.createCollection('docs', { dimensions: 2, metric: 'l2sq' })
    await expect(leader.collection('docs').count({ consistency: 'strong' as never })).rejects.toMatchObject({
      code: 'ERR_INVALID',
      field: 'consistency',
    })
    await expect(leader.collection('docs').count({ minIndex: -1 })).rejects.toMatchObject({
      field: 'minIndex',
    })
    await expect(
      leader.collection('docs').count({ consistency: { maxStalenessMs: Number.NaN } }),
    ).rejects.toMatchObject({ field: 'maxStalenessMs' })
    await expect(group.open('z', { raft: { tickMs: -1 } })).rejects.toMatchObject({ field: 'raft.tickMs' })
  })

  it('close() fails what is pending with ERR_CLOSED and later calls too', async () => {
    group = await testGroup(['a', 'b', 'c'])
    const leader = await group.leader()
    await leader.createCollection('docs', { dimensions: 2, metric: 'l2sq' })
    // Cut the leader off, so its write can only wait.
    const others = [...group.peers.values()].filter((p) => p !== leader)
    for (const p of others) await p.close({ transfer: false })
    const pending = leader.collection('docs').upsert('x', [1, 1])
    await new Promise<void>((r) => setTimeout(r, 50))
    await leader.close()
    await expect(pending).rejects.toMatchObject({ code: 'ERR_CLOSED' })
    await expect(leader.collection('docs').count()).rejects.toMatchObject({ code: 'ERR_CLOSED' })
    expect(leader.status().state).toBe('closed')
  })
})

describe('fail-stop', () => {
  it('a replica whose state machine fails locally stops instead of recording the failure', async () => {
    group = await testGroup(['a', 'b', 'c'])
    const leader = await group.leader()
    await leader.createCollection('docs', { dimensions: 2, metric: 'l2sq' })
    const follower = [...group.peers.values()].find((p) => p !== leader)!
    const sm = peerInternals.get(follower)!.sm!
    const failed = new Promise((resolve) => follower.on('failed', resolve))
    sm.apply = () => {
      throw new FailStopError(0, new Error('injected: out of memory'))
    }
    await leader.collection('docs').upsert('x', [1, 2])
    await failed
    expect(follower.status().state).toBe('failed')
    expect(follower.status().error).toMatch(/out of memory/)
    await expect(follower.collection('docs').count({ consistency: 'local' })).rejects.toMatchObject({
      code: 'ERR_FAILED',
    })
    // The rest of the group carries on.
    expect((await leader.collection('docs').upsert('y', [3, 4])).upserted).toBe(1)
  })
})
