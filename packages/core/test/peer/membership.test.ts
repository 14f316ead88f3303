import { afterEach, describe, expect, it } from 'vitest'
import { type TestGroup, testGroup } from './helpers.js'

let group: TestGroup | undefined
afterEach(async () => {
  await group?.close()
  group = undefined
})

const vec = (i: number) => [Math.cos(i), Math.sin(i), 0.5]

describe('snapshots and membership', () => {
  it('takes snapshots past the trigger, compacts, and a new voter joins through one', async () => {
    group = await testGroup(['a', 'b', 'c'], { extra: { snapshot: { entries: 20 } } })
    const leader = await group.leader()
    await leader.createCollection('docs', { dimensions: 3, metric: 'cos' })
    const docs = leader.collection('docs')
    for (let i = 0; i < 60; i++) await docs.upsert(`p${i}`, vec(i), { i })
    // Every data peer snapshots on its own once the trigger is passed.
    for (const p of group.peers.values()) {
      await p.collection('docs').count({ minIndex: 60 })
      expect(p.metrics().snapshotsTaken).toBeGreaterThan(0)
      expect(p.status().firstIndex).toBeGreaterThan(20)
    }

    // d starts empty, waiting to be added (no bootstrap), and receives a snapshot.
    const d = await group.open('d', { bootstrap: undefined })
    expect(d.isMember('anyone')).toBe(true)
    const { index } = await group.onLeader((l) => l.addMember('d', { as: 'voter' }))
    expect((await group.leader()).status().members.find((m) => m.id === 'd')?.kind).toBe('voter')
    const r = await d.collection('docs').count({ minIndex: index, consistency: 'local' })
    expect(r.count).toBe(60)
    expect(d.metrics().snapshotsInstalled).toBeGreaterThan(0)
    const hit = await d.collection('docs').search(vec(7), { k: 1, consistency: 'local' })
    expect(hit.hits[0].id).toBe('p7')

    await group.onLeader((l) => l.removeMember('d'))
    expect((await group.leader()).status().members.some((m) => m.id === 'd')).toBe(false)
  })

  it('runs a group of two data voters and a witness through the loss of a data voter', async () => {
    group = await testGroup(['a', 'b'], { witnesses: ['w'] })
    let leader = await group.leader()
    await leader.createCollection('docs', { dimensions: 3, metric: 'cos' })
    for (let i = 0; i < 10; i++) await leader.collection('docs').upsert(`p${i}`, vec(i))
    const other = leader.id === 'a' ? 'b' : 'a'
    await leader.close({ transfer: false })
    group.peers.delete(leader.id)
    leader = await group.leader()
    expect(leader.id).toBe(other)
    const w = await leader.collection('docs').upsert('after', vec(99))
    expect(w.upserted).toBe(1)
    expect((await leader.collection('docs').count()).count).toBe(11)
  })

  it('transfers leadership on request and reports members with lag', async () => {
    group = await testGroup(['a', 'b', 'c'])
    const leader = await group.leader()
    const target = [...group.peers.keys()].find((id) => id !== leader.id)!
    await leader.transferLeadership(target)
    expect(group.peers.get(target)!.status().raftRole).toBe('leader')
    const s = group.peers.get(target)!.status()
    expect(s.members).toHaveLength(3)
    for (const m of s.members) expect(m.lagEntries).toBeGreaterThanOrEqual(0)
    await expect(leader.addMember('x')).rejects.toMatchObject({ code: 'ERR_NOT_LEADER', leader: target })
  })
})

describe('concurrent membership changes', () => {
  it('two addMember calls at once both succeed, one after the other', async () => {
    group = await testGroup(['a', 'b', 'c'])
    await group.open('d', { bootstrap: undefined })
    await group.open('e', { bootstrap: undefined })
    const leader = await group.leader()
    const results = await Promise.allSettled([
      leader.addMember('d', { as: 'voter', timeoutMs: 20_000 }),
      leader.addMember('e', { as: 'learner', timeoutMs: 20_000 }),
    ])
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled'])
    const kinds = Object.fromEntries(leader.status().members.map((m) => [m.id, m.kind]))
    expect(kinds.d).toBe('voter')
    expect(kinds.e).toBe('learner')
  })
})

describe('changeMembers', () => {
  it('swaps two voters for two new ones in one joint configuration', async () => {
    group = await testGroup(['a', 'b', 'c'])
    await group.open('d', { bootstrap: undefined })
    await group.open('e', { bootstrap: undefined })
    const leader = await group.leader()
    await leader.createCollection('docs', { dimensions: 3, metric: 'cos' })
    await leader.collection('docs').upsert('p', vec(1))
    const [x, y] = ['a', 'b', 'c'].filter((id) => id !== leader.id)
    // Every joint configuration any peer applies, by its voters.
    const joints = new Set<string>()
    for (const p of group.peers.values())
      p.on('membership', (m) => {
        if (m.joint)
          joints.add(
            m.members
              .filter((s) => s.kind === 'voter')
              .map((s) => s.id)
              .sort()
              .join(','),
          )
      })
    // Retried on a new leader if leadership moves (a loaded machine).
    await group.onLeader((l) =>
      l.changeMembers(
        { add: [{ id: 'd' }, { id: 'e', as: 'voter' }], remove: [x, y] },
        { timeoutMs: 20_000 },
      ),
    )
    // One joint configuration holding both halves (not a chain of single changes), then the
    // new voters alone.
    expect([...joints]).toEqual(['a,b,c,d,e'])
    const now = await group.leader()
    const kinds = Object.fromEntries(now.status().members.map((m) => [m.id, m.kind]))
    expect(kinds).toEqual({ [leader.id]: 'voter', d: 'voter', e: 'voter' })
    // The new voters hold the data.
    const w = await now.collection('docs').upsert('q', vec(2))
    for (const id of ['d', 'e'])
      expect(
        (await group.peers.get(id)!.collection('docs').count({ minIndex: w.index, consistency: 'local' }))
          .count,
      ).toBe(2)
  })

  it('refuses a member named twice and the removal of a non-member', async () => {
    group = await testGroup(['a', 'b', 'c'])
    const leader = await group.leader()
    await expect(leader.changeMembers({ add: [{ id: 'd' }], remove: ['d'] })).rejects.toMatchObject({
      code: 'ERR_INVALID',
      field: 'remove[0]',
    })
    await expect(leader.changeMembers({ add: [{ id: 'd', as: 'king' as 'voter' }] })).rejects.toMatchObject({
      code: 'ERR_INVALID',
      field: 'add[0].as',
    })
    await expect(leader.changeMembers({ remove: ['zz'] })).rejects.toMatchObject({
      code: 'ERR_MEMBERSHIP',
      field: 'remove[0]',
    })
  })
})
