import { describe, expect, it } from 'vitest'
import { type Message, MessageType } from '../../src/raft/messages.js'
import { TestNet } from './harness.js'

const ctx = (n: number) => Uint8Array.of(1, n)

describe('ReadIndex (thesis §6.4)', () => {
  it('the leader answers after a quorum confirms it still leads', () => {
    const net = new TestNet(['a', 'b', 'c'])
    net.warm()
    net.elect('a')
    net.propose('a', 'x')
    const beats = net.countDelivered(MessageType.Heartbeat)
    net.peer('a').node.readIndex(ctx(1))
    net.stabilize()
    expect(net.countDelivered(MessageType.Heartbeat)).toBeGreaterThan(beats)
    const rs = net.peer('a').readStates.at(-1)!
    expect(rs.context).toEqual(ctx(1))
    expect(rs.index).toBe(net.raft('a').log.committed)
    expect(rs.lease).toBe(false)
  })

  it('a follower gets a read index from the leader', () => {
    const net = new TestNet(['a', 'b', 'c'])
    net.warm()
    net.elect('a')
    net.propose('a', 'x')
    net.peer('c').node.readIndex(ctx(2))
    net.stabilize()
    const rs = net.peer('c').readStates.at(-1)!
    expect(rs.context).toEqual(ctx(2))
    expect(rs.index).toBe(net.raft('a').log.committed)
  })

  it('an isolated leader cannot answer', () => {
    const net = new TestNet(['a', 'b', 'c'], { config: () => ({ leaseTicks: 0 }) })
    net.warm()
    net.elect('a')
    net.isolate('a')
    net.peer('a').node.readIndex(ctx(3))
    net.stabilize()
    expect(net.peer('a').readStates).toEqual([])
  })

  it('a new leader waits until an entry of its term commits', () => {
    const net = new TestNet(['a', 'b', 'c'])
    net.warm()
    net.elect('a')
    net.isolate('b')
    net.isolate('c')
    net.lapse(['b', 'c'])
    net.heal()
    net.isolate('a')
    net.isolate('c')
    net.cut.delete('b>c')
    net.cut.delete('c>b')
    net.filter = (m) => !(m.type === MessageType.AppResp && m.to === 'b')
    net.elect('b')
    net.peer('b').node.readIndex(ctx(4))
    net.stabilize()
    expect(net.peer('b').readStates).toEqual([])
    net.filter = null
    net.tickAll(1)
    expect(net.peer('b').readStates.map((r) => r.context)).toEqual([ctx(4)])
  })
})

describe('lease reads', () => {
  it('a leader with a valid lease answers without a quorum round', () => {
    const net = new TestNet(['a', 'b', 'c'])
    net.warm()
    net.elect('a')
    net.propose('a', 'x')
    net.tickAll(2)
    expect(net.raft('a').leaseValid()).toBe(true)
    const before = net.delivered.length
    net.peer('a').node.readIndex(ctx(5), { lease: true })
    net.process(net.peer('a'))
    expect(net.peer('a').readStates.at(-1)).toMatchObject({ context: ctx(5), lease: true })
    expect(net.delivered.length).toBe(before)
  })

  it('the lease runs out when heartbeats go unanswered, before any rival could be elected', () => {
    const net = new TestNet(['a', 'b', 'c'])
    net.warm()
    net.elect('a')
    net.tickAll(2)
    net.isolate('a')
    let ticks = 0
    while (net.raft('a').leaseValid()) {
      net.tick('a')
      ticks++
    }
    // Followers refuse votes for electionTick (10) ticks after the last heartbeat they acked.
    expect(ticks).toBeLessThan(10)
  })

  it('ends before a rival commits, with clocks at the drift bound and any election timeout', () => {
    for (const electionTick of [10, 16, 22, 30, 45]) {
      // The leader's clock runs 5% slow, the followers' 5% fast; b times out as early as it may.
      let bFirst = false
      const net = new TestNet(['a', 'b', 'c'], {
        config: (id) => ({ electionTick, random: () => (id === 'b' && bFirst ? 0 : 0.99) }),
      })
      for (let i = 0; i < electionTick; i++) net.tickAll(1)
      net.elect('a')
      net.propose('a', 'x')
      bFirst = true
      net.raft('b').resetRandomizedElectionTimeout()
      // At time 0, a's heartbeat is acknowledged by b and c; then a is cut off.
      net.tick('a')
      net.stabilize()
      expect(net.raft('a').leaseValid()).toBe(true)
      net.isolate('a')
      const period: Record<string, number> = { a: 1.05, b: 0.95, c: 0.95 }
      const next: Record<string, number> = { a: 1.05, b: 1e-9, c: 0 }
      let now = 0
      while (net.raft('b').role !== 'leader' || !net.appliedText('b').includes('y')) {
        const id = ['c', 'b', 'a'].reduce((x, y) => (next[y] < next[x] ? y : x))
        now = next[id]
        next[id] += period[id]
        net.tick(id)
        net.stabilize()
        if (net.raft('b').role === 'leader' && !net.appliedText('b').includes('y')) net.propose('b', 'y')
        expect(now, `electionTick ${electionTick}`).toBeLessThan(10 * electionTick)
      }
      // b committed y at `now`: a must no longer answer lease reads.
      while (next.a <= now) {
        net.tick('a')
        next.a += period.a
      }
      expect(net.raft('a').leaseValid(), `electionTick ${electionTick}`).toBe(false)
    }
  })

  it('is dropped on step-down and when leadership transfer starts', () => {
    const net = new TestNet(['a', 'b', 'c'])
    net.warm()
    net.elect('a')
    net.tickAll(2)
    expect(net.raft('a').leaseValid()).toBe(true)
    net.peer('a').node.transferLeadership('b')
    expect(net.raft('a').leaseValid()).toBe(false)
    net.stabilize()
    expect(net.leader()).toBe('b')
    expect(net.raft('a').leaseValid()).toBe(false)
  })

  it('is never granted to a peer that is not lease-eligible (a browser tab)', () => {
    const net = new TestNet(['a', 'b', 'c'], { config: (id) => ({ leaseEligible: id !== 'a' }) })
    net.warm()
    net.elect('a')
    net.tickAll(2)
    expect(net.raft('a').leaseValid()).toBe(false)
    net.peer('a').node.readIndex(ctx(6), { lease: true })
    net.stabilize()
    expect(net.peer('a').readStates.at(-1)).toMatchObject({ context: ctx(6), lease: false })
  })
})

describe('freshness proofs for bounded-staleness reads', () => {
  it('a follower holds a proof stamped with its own clock, refreshed while the leader answers', () => {
    const net = new TestNet(['a', 'b', 'c'])
    net.warm()
    net.elect('a')
    net.propose('a', 'x')
    net.tickAll(3)
    const proof = net.peer('c').node.freshness()!
    expect(proof.index).toBe(net.raft('a').log.committed)
    expect(net.raft('c').ticks - proof.tick).toBeLessThanOrEqual(1)
  })

  it('a partitioned follower keeps its old proof, whose age grows on its own clock', () => {
    const net = new TestNet(['a', 'b', 'c'])
    net.warm()
    net.elect('a')
    net.tickAll(2)
    net.isolate('c')
    const before = net.peer('c').node.freshness()!
    for (let i = 0; i < 8; i++) net.tick('c')
    net.propose('a', 'unseen')
    const after = net.peer('c').node.freshness()!
    expect(after).toEqual(before)
    expect(net.raft('c').ticks - after.tick).toBeGreaterThanOrEqual(8)
    expect(after.index).toBeLessThan(net.raft('a').log.committed)
  })

  it("a late reply to the previous run's probe proves nothing after a restart", () => {
    // Each run of c draws a different nonce; election timeouts stay predictable.
    let runs = 0
    const net = new TestNet(['a', 'b', 'c'], {
      config: (id) => {
        if (id !== 'c') return {}
        const run = ++runs
        let calls = 0
        return { random: () => (++calls <= 2 ? run / 10 : 0.99) }
      },
    })
    net.warm()
    net.elect('a')
    net.propose('a', 'x')
    // c's first probe of this run: a answers at the current commit index; the reply is held.
    const held: Message[] = []
    net.filter = (m) => {
      if (m.type === MessageType.ReadIndexResp && m.to === 'c') held.push(m)
      return m.type !== MessageType.ReadIndexResp || m.to !== 'c'
    }
    net.restart('c')
    net.tickAll(3)
    expect(held.length).toBeGreaterThan(0)
    const stale = held[0]
    // Writes are acknowledged; c restarts again and sends its first probe anew, unanswered.
    net.propose('a', 'y')
    net.propose('a', 'z')
    net.restart('c')
    net.filter = (m) => !(m.type === MessageType.ReadIndex && m.from === 'c')
    net.tickAll(2)
    expect(net.raft('c').probes.size).toBeGreaterThan(0)
    net.peer('c').node.step(stale)
    const proof = net.peer('c').node.freshness()
    expect(proof === null || proof.index >= net.raft('a').log.committed).toBe(true)
  })

  it('two requests with one context are answered each at its own read index', () => {
    const net = new TestNet(['a', 'b', 'c'], { config: () => ({ freshnessProbeTicks: 0 }) })
    net.warm()
    net.elect('a')
    net.propose('a', 'x')
    // Heartbeat acknowledgements are held back, so the first request stays queued.
    net.filter = (m) => m.type !== MessageType.HeartbeatResp
    net.peer('c').node.readIndex(ctx(9))
    net.stabilize()
    const first = net.raft('a').log.committed
    net.propose('a', 'y')
    net.peer('c').node.readIndex(ctx(9))
    net.stabilize()
    const second = net.raft('a').log.committed
    expect(second).toBeGreaterThan(first)
    net.filter = null
    net.tickAll(1)
    expect(net.peer('c').readStates.map((r) => r.index)).toEqual([first, second])
  })

  it('with the deliberately broken rule, a follower claims freshness without a proof', () => {
    const net = new TestNet(['a', 'b', 'c'], { config: () => ({ faults: { unprovenStaleRead: true } }) })
    net.warm()
    net.elect('a')
    net.isolate('c')
    for (let i = 0; i < 8; i++) net.tick('c')
    expect(net.peer('c').node.freshness()?.tick).toBe(net.raft('c').ticks)
  })
})
