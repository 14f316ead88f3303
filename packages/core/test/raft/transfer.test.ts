import { describe, expect, it } from 'vitest'
import { type Message, MessageType } from '../../src/raft/messages.js'
import { TestNet } from './harness.js'

describe('leadership transfer (thesis §3.10)', () => {
  it('moves leadership to an up-to-date follower with TimeoutNow', () => {
    const net = new TestNet(['a', 'b', 'c'])
    net.warm()
    net.elect('a')
    net.propose('a', 'x')
    net.peer('a').node.transferLeadership('c')
    net.stabilize()
    expect(net.countDelivered(MessageType.TimeoutNow, 'c')).toBe(1)
    expect(net.leader()).toBe('c')
    net.propose('c', 'y')
    expect(net.appliedText('a')).toEqual(['x', 'y'])
  })

  it('brings a lagging target up to date first', () => {
    const net = new TestNet(['a', 'b', 'c'])
    net.warm()
    net.elect('a')
    net.isolate('c')
    net.propose('a', 'x')
    net.heal()
    net.peer('a').node.transferLeadership('c')
    net.stabilize()
    expect(net.leader()).toBe('c')
    expect(net.appliedText('c')).toContain('x')
  })

  it('refuses proposals while transferring, and gives up after an election timeout', () => {
    const net = new TestNet(['a', 'b', 'c'])
    net.warm()
    net.elect('a')
    net.isolate('c')
    net.peer('a').node.transferLeadership('c')
    expect(() => net.peer('a').node.propose(new Uint8Array([1]))).toThrow(
      expect.objectContaining({ code: 'ERR_PROPOSAL_DROPPED' }),
    )
    for (let i = 0; i < 10; i++) net.tick('a')
    net.stabilize()
    expect(net.raft('a').leadTransferee).toBe('')
    expect(net.leader()).toBe('a')
  })

  it('a follower forwards a transfer request to the leader', () => {
    const net = new TestNet(['a', 'b', 'c'])
    net.warm()
    net.elect('a')
    net.peer('b').node.transferLeadership('b')
    net.stabilize()
    expect(net.leader()).toBe('b')
  })
})

describe('transfer votes and the lease', () => {
  /** Leader a transfers to b, whose vote requests are held back; b is otherwise cut off. */
  function transferWithHeldVotes() {
    const net = new TestNet(['a', 'b', 'c', 'd', 'e'])
    net.warm()
    net.elect('a')
    net.propose('a', 'x')
    const held: Message[] = []
    net.filter = (m) => {
      if (m.type === MessageType.TimeoutNow && m.to === 'b') return true
      if (m.type === MessageType.Vote && m.from === 'b') held.push(m)
      return m.from !== 'b' && m.to !== 'b'
    }
    net.peer('a').node.transferLeadership('b')
    net.stabilize()
    expect(net.raft('b').role).toBe('candidate')
    return { net, held }
  }

  it('a follower refuses a transfer vote from a transfer the leader gave up, once it acked a later heartbeat', () => {
    const { net, held } = transferWithHeldVotes()
    // The transfer times out; a renews its lease from c, d and e.
    for (let i = 0; i < 12; i++) {
      for (const id of ['a', 'c', 'd', 'e']) net.tick(id)
      net.stabilize()
    }
    expect(net.raft('a').leadTransferee).toBe('')
    expect(net.raft('a').leaseValid()).toBe(true)
    const term = net.raft('a').term
    for (const m of held.filter((v) => v.to === 'c' || v.to === 'd')) net.peer(m.to).node.step(m)
    net.stabilize()
    // Granting would let b win with c and d while a still serves lease reads.
    expect(net.raft('c').term).toBe(term)
    expect(net.raft('d').term).toBe(term)
    expect(net.raft('a').leaseValid()).toBe(true)
  })

  it('the same, at once, when a configuration change removes the transferee', () => {
    const net = new TestNet(['a', 'b', 'c', 'd', 'e'])
    net.warm()
    net.elect('a')
    net.tickAll(2)
    // The removal of b is appended but not yet committed: only b acknowledges it.
    net.filter = (m) => !(m.type === MessageType.AppResp && m.from !== 'b')
    net.peer('a').node.proposeConfChange({ changes: [{ type: 'remove', id: 'b' }] })
    net.stabilize()
    const held: Message[] = []
    net.filter = (m) => {
      if (m.type === MessageType.AppResp && m.from !== 'b') return false
      if (m.type === MessageType.TimeoutNow && m.to === 'b') return true
      if (m.type === MessageType.Vote && m.from === 'b') held.push(m)
      return m.from !== 'b' && m.to !== 'b'
    }
    net.peer('a').node.transferLeadership('b')
    net.stabilize()
    expect(held.length).toBeGreaterThan(0)
    // The removal commits: a gives up the transfer and renews its lease.
    net.filter = (m) => m.from !== 'b' && m.to !== 'b'
    net.tickAll(3)
    expect(net.raft('a').leadTransferee).toBe('')
    expect(net.raft('a').leaseValid()).toBe(true)
    const term = net.raft('a').term
    for (const m of held.filter((v) => v.to === 'c' || v.to === 'd')) net.peer(m.to).node.step(m)
    net.stabilize()
    expect(net.raft('c').term).toBe(term)
    expect(net.raft('d').term).toBe(term)
  })

  it('votes of a transfer still under way are granted inside the lease', () => {
    const { net, held } = transferWithHeldVotes()
    net.filter = null
    for (const m of held) net.peer(m.to).node.step(m)
    net.stabilize()
    expect(net.leader()).toBe('b')
  })

  it('a restarted follower refuses the transfer votes of the term it restarted in', () => {
    const { net, held } = transferWithHeldVotes()
    net.restart('c')
    const term = net.raft('c').term
    net.peer('c').node.step(held.find((v) => v.to === 'c')!)
    expect(net.raft('c').term).toBe(term)
  })

  it('the priority handover never picks a voter that is being removed', () => {
    const prio: Record<string, number> = { a: 1, b: 1, c: 3 }
    const net = new TestNet(['a', 'b', 'c'], { config: () => ({ priority: (id) => prio[id] ?? 1 }) })
    net.warm()
    net.elect('a')
    // b takes no appends: the joint configuration {a,b} & {a,b,c} cannot be left.
    net.filter = (m) => !(m.type === MessageType.App && m.to === 'b')
    net.peer('a').node.proposeConfChange({ changes: [{ type: 'remove', id: 'c' }] })
    net.stabilize()
    expect(net.raft('a').conf.outgoing).toContain('c')
    net.tickAll(15)
    expect(net.raft('a').leadTransferee).not.toBe('c')
    expect(net.leader()).toBe('a')
    net.filter = null
    net.tickAll(2)
    expect(net.raft('a').conf).toMatchObject({ voters: ['a', 'b'], outgoing: [] })
  })
})
