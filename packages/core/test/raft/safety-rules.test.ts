import { describe, expect, it } from 'vitest'
import { emptyConfState, isJoint } from '../../src/raft/confchange.js'
import { type Message, MessageType } from '../../src/raft/messages.js'
import { TestNet } from './harness.js'

// One test per rule that a planted bug broke without the simulator noticing (issue 9), in the
// manner of etcd's raft tests.

const bytes = (s: string) => new TextEncoder().encode(s)

/** a holds a stale, uncommitted suffix (a1..a4); b leads a later term with b1, b2 committed. */
function staleSuffix() {
  const net = new TestNet(['a', 'b', 'c'])
  net.warm()
  net.elect('a')
  net.propose('a', 'shared')
  const shared = net.raft('a').log.lastIndex()
  net.isolate('a')
  for (const v of ['a1', 'a2', 'a3', 'a4']) net.peer('a').node.propose(bytes(v))
  net.stabilize()
  net.heal()
  net.isolate('a')
  net.lapse(['b', 'c'])
  net.elect('b')
  for (const v of ['b1', 'b2']) net.propose('b', v)
  return { net, shared }
}

describe('rules a planted bug broke', () => {
  it("a follower commits no further than the last entry the leader's append verified", () => {
    const { net, shared } = staleSuffix()
    const b = net.raft('b')
    expect(b.log.committed).toBeGreaterThan(shared + 1)
    // An append that matches only up to the shared entry, carrying b's commit index.
    net.peer('a').node.step({
      type: MessageType.App,
      from: 'b',
      to: 'a',
      term: b.term,
      index: shared,
      logTerm: b.log.term(shared),
      entries: [],
      commit: b.log.committed,
    })
    expect(net.raft('a').log.committed).toBe(shared)
  })

  it('restoring a snapshot drops a conflicting log after it', () => {
    const { net, shared } = staleSuffix()
    const b = net.peer('b')
    const index = b.node.raft.log.applied
    expect(index).toBeGreaterThan(shared)
    b.log.createSnapshot({ index, term: b.log.term(index), conf: b.node.raft.conf }, 5)
    const snap = b.log.snapshot()
    net.peer('a').node.step({
      type: MessageType.Snap,
      from: 'b',
      to: 'a',
      term: b.node.raft.term,
      snapshot: { meta: snap.meta, offset: 0, total: 5, data: bytes('state') },
    })
    expect(net.raft('a').log.lastIndex()).toBe(index)
  })

  it('a leader steps down on an append response with a higher term', () => {
    const net = new TestNet(['a', 'b', 'c'])
    net.warm()
    net.elect('a')
    const term = net.raft('a').term
    net.peer('a').node.step({ type: MessageType.AppResp, from: 'b', to: 'a', term: term + 1, index: 0 })
    expect(net.raft('a').role).toBe('follower')
    expect(net.raft('a').term).toBe(term + 1)
  })

  it("a lease counts the quorum's acknowledgements, not the newest one (5 voters)", () => {
    const net = new TestNet(['a', 'b', 'c', 'd', 'e'])
    net.warm()
    net.elect('a')
    net.tickAll(2)
    expect(net.raft('a').leaseValid()).toBe(true)
    // a keeps only b: b acknowledges every heartbeat, the majority none.
    for (const x of ['a', 'b']) for (const y of ['c', 'd', 'e']) net.cut.add(`${x}>${y}`).add(`${y}>${x}`)
    const leaseTicks = net.raft('a').cfg.leaseTicks
    for (let i = 0; i <= leaseTicks; i++) {
      net.tick('a')
      net.tick('b')
      net.stabilize()
    }
    expect(net.raft('a').role).toBe('leader')
    expect(net.raft('a').leaseValid()).toBe(false)
  })

  it('a freshness proof is stamped when the probe left, not when the answer came', () => {
    const net = new TestNet(['a', 'b', 'c'])
    net.warm()
    net.elect('a')
    net.tickAll(2)
    const held: Message[] = []
    net.filter = (m) => {
      if (m.type === MessageType.ReadIndexResp && m.to === 'c') held.push(m)
      return !(m.type === MessageType.ReadIndexResp && m.to === 'c')
    }
    const before = net.raft('c').ticks
    net.tickAll(2)
    expect(held.length).toBeGreaterThan(0)
    net.filter = (m) => m.type !== MessageType.ReadIndexResp
    for (let i = 0; i < 6; i++) net.tick('c')
    // Only the late answer may prove anything.
    net.raft('c').freshness = null
    net.peer('c').node.step(held.at(-1)!)
    const proof = net.peer('c').node.freshness()!
    expect(proof.tick).toBeLessThanOrEqual(before + 2)
  })

  it('a joint configuration commits only with a majority of both halves', () => {
    const net = new TestNet(['a', 'b', 'c'])
    net.add('d', emptyConfState())
    net.add('e', emptyConfState())
    net.warm()
    net.elect('a')
    // Once a applies the joint configuration, b and c go quiet: only the incoming half answers.
    net.filter = (m) => !(isJoint(net.raft('a').conf) && (m.from === 'b' || m.from === 'c'))
    net.peer('a').node.proposeConfChange({
      changes: [
        { type: 'voter', id: 'd' },
        { type: 'voter', id: 'e' },
        { type: 'remove', id: 'b' },
        { type: 'remove', id: 'c' },
      ],
    })
    net.stabilize()
    net.tickAll(3)
    expect(net.raft('a').conf).toMatchObject({ voters: ['a', 'd', 'e'], outgoing: ['a', 'b', 'c'] })
    net.propose('a', 'x')
    const x = net.raft('a').log.lastIndex()
    expect(net.raft('d').log.lastIndex()).toBe(x)
    expect(net.raft('e').log.lastIndex()).toBe(x)
    expect(net.raft('a').log.committed).toBeLessThan(x)
  })
})
