import { describe, expect, it } from 'vitest'
import { MessageType, TestNet } from './harness.js'

describe('leader election (Raft §5.2)', () => {
  it('elects one leader and every peer follows it', () => {
    const net = new TestNet(['a', 'b', 'c'])
    net.warm()
    net.elect('a')
    expect(net.leader()).toBe('a')
    for (const id of ['b', 'c']) {
      expect(net.raft(id).role).toBe('follower')
      expect(net.raft(id).lead).toBe('a')
      expect(net.raft(id).term).toBe(net.raft('a').term)
    }
  })

  it('randomizes the election timeout within [electionTick, 2 * electionTick)', () => {
    const seen = new Set<number>()
    for (const r of [0, 0.25, 0.5, 0.99]) {
      const net = new TestNet(['a', 'b', 'c'], { config: () => ({ random: () => r }) })
      seen.add(net.raft('a').randomizedElectionTimeout)
    }
    expect([...seen].sort((x, y) => x - y)).toEqual([10, 12, 15, 19])
  })

  it('a follower that hears nothing campaigns after its timeout and wins', () => {
    // Distinct randomness per peer, as in production: identical timeouts would split every vote.
    const random = { a: 0.5, b: 0.99, c: 0.9 } as Record<string, number>
    const net = new TestNet(['a', 'b', 'c'], { config: (id) => ({ random: () => random[id] }) })
    net.warm()
    net.tickAll(10) // 20 ticks in all: past a's randomized timeout of 15
    expect(net.leader()).toBe('a')
  })

  it('refuses to vote twice in one term', () => {
    const net = new TestNet(['a', 'b', 'c'], { config: () => ({ preVote: false }) })
    net.warm()
    net.isolate('a')
    net.isolate('c')
    net.cut.delete('a>b')
    net.cut.delete('b>a')
    net.elect('a') // b votes for a in term 1
    const term = net.raft('b').term
    expect(net.raft('b').vote).toBe('a')
    net.heal()
    net.isolate('a')
    // c campaigns in the same term number b already voted in.
    net.raft('c').term = term - 1
    net.elect('c')
    expect(net.raft('b').vote).toBe('a')
  })
})

describe('pre-vote (thesis §9.6)', () => {
  it('a partitioned peer does not raise its term, so it cannot disrupt the group on return', () => {
    const net = new TestNet(['a', 'b', 'c'])
    net.warm()
    net.elect('a')
    const term = net.raft('a').term
    net.isolate('c')
    for (let i = 0; i < 100; i++) net.tick('c')
    net.stabilize()
    expect(net.raft('c').term).toBe(term)
    net.heal()
    net.tickAll(3)
    expect(net.leader()).toBe('a')
    expect(net.raft('a').term).toBe(term)
  })

  it('without pre-vote the same partition bumps the term and deposes the leader', () => {
    const net = new TestNet(['a', 'b', 'c'], {
      config: () => ({ preVote: false, checkQuorum: false, leaseTicks: 0 }),
    })
    net.warm()
    net.elect('a')
    const term = net.raft('a').term
    net.isolate('c')
    for (let i = 0; i < 100; i++) net.tick('c')
    net.stabilize()
    expect(net.raft('c').term).toBeGreaterThan(term)
    net.heal()
    net.tickAll(20) // c's next campaign reaches a with a higher term
    expect(net.raft('a').term).toBeGreaterThan(term)
  })
})

describe('check-quorum', () => {
  it('an isolated leader steps down after an election timeout', () => {
    const net = new TestNet(['a', 'b', 'c'])
    net.warm()
    net.elect('a')
    net.isolate('a')
    for (let i = 0; i < 21; i++) net.tick('a')
    expect(net.raft('a').role).toBe('follower')
  })

  it('followers in contact with a leader ignore a rival candidate', () => {
    const net = new TestNet(['a', 'b', 'c'])
    net.warm()
    net.elect('a')
    net.tickAll(1)
    const term = net.raft('a').term
    net.raft('c').term = term // c forces an election as if its timer fired
    net.peer('c').node.campaign()
    net.stabilize()
    expect(net.leader()).toBe('a')
    expect(net.raft('b').vote).toBe('a')
  })

  it('a manual campaign inside a lease neither starts nor lets the peer grant other votes', () => {
    const net = new TestNet(['a', 'b', 'c'])
    net.warm()
    net.elect('a')
    net.tickAll(2)
    const term = net.raft('a').term
    // c acknowledged a's heartbeat a moment ago: its own vote counts toward a's lease.
    net.isolate('c')
    net.peer('c').node.campaign()
    net.stabilize()
    expect(net.raft('c').role).toBe('follower')
    expect(net.raft('c').lead).toBe('a')
    // b's vote request reaches c: c acknowledged a's heartbeat a moment ago, so it must refuse.
    const last = net.raft('b').log.lastIndex()
    net.peer('c').node.step({
      type: MessageType.Vote,
      from: 'b',
      to: 'c',
      term: term + 1,
      index: last,
      logTerm: net.raft('b').log.term(last),
    })
    expect(net.raft('c').term).toBe(term)
    expect(net.raft('c').vote).not.toBe('b')
  })

  it('a restarted peer refuses votes for one election timeout (a lease may count on it)', () => {
    const net = new TestNet(['a', 'b', 'c'])
    net.warm()
    net.elect('a')
    net.restart('b')
    net.isolate('a')
    net.peer('c').node.campaign()
    net.stabilize()
    expect(net.raft('c').role).not.toBe('leader')
  })
})

describe('election priority', () => {
  it('lower-priority peers wait longer before campaigning', () => {
    const prio = (id: string) => (id === 'node' ? 2 : 1)
    const net = new TestNet(['node', 'tab1', 'tab2'], { config: () => ({ priority: prio, random: () => 0 }) })
    expect(net.raft('node').randomizedElectionTimeout).toBe(10)
    expect(net.raft('tab1').randomizedElectionTimeout).toBe(20)
    net.warm()
    net.tickAll(10)
    expect(net.leader()).toBe('node')
  })

  it('a low-priority leader hands over to a healthy, caught-up preferred peer', () => {
    const prio = (id: string) => (id === 'node' ? 2 : 1)
    const net = new TestNet(['node', 'tab1', 'tab2'], { config: () => ({ priority: prio }) })
    net.warm()
    net.elect('tab1')
    expect(net.leader()).toBe('tab1')
    net.propose('tab1', 'x')
    net.tickAll(12)
    expect(net.leader()).toBe('node')
    expect(net.appliedText('node')).toContain('x')
  })

  it('equal priorities never trigger a handover', () => {
    const net = new TestNet(['a', 'b', 'c'])
    net.warm()
    net.elect('b')
    net.tickAll(30)
    expect(net.leader()).toBe('b')
  })
})
