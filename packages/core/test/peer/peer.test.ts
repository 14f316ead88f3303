import { afterEach, describe, expect, it } from 'vitest'
import { PeerError } from '../../src/index.js'
import { type TestGroup, testGroup } from './helpers.js'

let group: TestGroup | undefined
afterEach(async () => {
  await group?.close()
  group = undefined
})

const vec = (i: number) => [Math.cos(i), Math.sin(i), 1]

describe('openPeer', () => {
  it('writes on the leader, reads everywhere, keeps writing after the leader closes', async () => {
    group = await testGroup(['a', 'b', 'c'])
    const leader = await group.leader()
    const created = await leader.createCollection('docs', { dimensions: 3, metric: 'cos' })
    expect(created.created).toBe(true)
    const docs = leader.collection('docs')
    const { index, upserted } = await docs.upsert('d1', vec(1), { title: 'one' })
    expect(upserted).toBe(1)
    // Read-your-writes on the peer that took the write.
    const local = await docs.get('d1', { consistency: 'local' })
    expect(local.point?.metadata).toEqual({ title: 'one' })
    for (const p of group.peers.values()) {
      const r = await p.collection('docs').search(vec(1), { k: 1, minIndex: index })
      expect(r.hits[0]?.id).toBe('d1')
      expect(r.index).toBeGreaterThanOrEqual(index)
      expect(r.consistency).toBe('linearizable')
    }
    await leader.close({ transfer: false })
    group.peers.delete(leader.id)
    const next = await group.leader()
    expect(next.id).not.toBe(leader.id)
    const w = await next.collection('docs').upsert('d2', vec(2))
    expect(w.index).toBeGreaterThan(index)
    const c = await next.collection('docs').count()
    expect(c.count).toBe(2)
  })

  it('forwards a follower write to the leader and resolves once applied on the follower', async () => {
    group = await testGroup(['a', 'b', 'c'])
    const leader = await group.leader()
    const follower = [...group.peers.values()].find((p) => p !== leader)!
    await follower.createCollection('docs', { dimensions: 3, metric: 'l2sq' })
    const w = await follower.collection('docs').upsert([
      { id: 'x', vector: vec(1) },
      { id: 'y', vector: vec(2), metadata: { n: 2 } },
    ])
    expect(w.upserted).toBe(2)
    const r = await follower.collection('docs').get('y', { consistency: 'local' })
    expect(r.point?.metadata).toEqual({ n: 2 })
    expect(r.index).toBeGreaterThanOrEqual(w.index)
  })

  it('refuses bad input before it enters the log, naming the field', async () => {
    group = await testGroup(['a', 'b', 'c'])
    const leader = await group.leader()
    await leader.createCollection('docs', { dimensions: 3, metric: 'cos' })
    const before = leader.status().lastIndex
    await expect(leader.collection('docs').upsert('bad', [1, 2])).rejects.toMatchObject({
      code: 'ERR_DIMENSION_MISMATCH',
    })
    await expect(leader.collection('docs').upsert('nan', [1, Number.NaN, 2])).rejects.toMatchObject({
      code: 'ERR_NON_FINITE',
    })
    await expect(leader.collection('nope').upsert('x', [1, 2, 3])).rejects.toMatchObject({
      code: 'ERR_UNKNOWN_COLLECTION',
    })
    expect(leader.status().lastIndex).toBe(before)
  })

  it('coalesces concurrent writes: 256 in flight cost far fewer saves', async () => {
    group = await testGroup(['a', 'b', 'c'])
    const leader = await group.leader()
    await leader.createCollection('docs', { dimensions: 3, metric: 'cos' })
    const docs = leader.collection('docs')
    const saves = () => leader.metrics().fsyncSeconds.count
    const before = saves()
    await Promise.all(Array.from({ length: 256 }, (_, i) => docs.upsert(`p${i}`, vec(i))))
    const used = saves() - before
    expect(used).toBeLessThan(64)
    expect((await docs.count()).count).toBe(256)
  })

  it('a witness refuses reads and writes with ERR_WITNESS', async () => {
    group = await testGroup(['a', 'b'], { witnesses: ['w'] })
    const leader = await group.leader()
    await leader.createCollection('docs', { dimensions: 3, metric: 'cos' })
    const w = group.peers.get('w')!
    await expect(w.collection('docs').upsert('x', vec(1))).rejects.toMatchObject({ code: 'ERR_WITNESS' })
    await expect(w.collection('docs').count()).rejects.toBeInstanceOf(PeerError)
    await expect(w.collection('docs').count()).rejects.toMatchObject({ code: 'ERR_WITNESS' })
  })

  it('restarts from storage without a snapshot transfer and keeps every applied write', async () => {
    group = await testGroup(['a', 'b', 'c'])
    const leader = await group.leader()
    await leader.createCollection('docs', { dimensions: 3, metric: 'cos' })
    for (let i = 0; i < 20; i++) await leader.collection('docs').upsert(`p${i}`, vec(i))
    const follower = [...group.peers.values()].find((p) => p !== leader)!
    await follower.collection('docs').count({ minIndex: leader.status().commit })
    await follower.close()
    group.peers.delete(follower.id)
    const reopened = await group.open(follower.id)
    const c = await reopened.collection('docs').count({ consistency: 'local' })
    expect(c.count).toBe(20)
    expect(reopened.metrics().snapshotsInstalled).toBe(0)
  })
})
