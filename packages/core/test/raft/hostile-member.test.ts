import { describe, expect, it } from 'vitest'
import { EntryType, type Message, MessageType } from '../../src/raft/messages.js'
import { TestNet } from './harness.js'

// One member lies; the others must not believe what only a leader may say, nor let a
// non-voter move their term.

const lead3 = (opts?: ConstructorParameters<typeof TestNet>[1]) => {
  const net = new TestNet(['a', 'b', 'c'], opts)
  net.warm()
  net.elect('a')
  net.propose('a', 'x')
  return net
}

/** Steps `m` into `to` as if it came off the wire, and runs the group until quiet. */
function inject(net: TestNet, m: Omit<Message, 'to'> & { to: string }): void {
  net.peer(m.to).node.step(m as Message)
  net.stabilize()
}

describe('a member lying in election messages', () => {
  // A refusal carries the voter's commit point (a group whose last leader demoted itself would
  // otherwise stall: raft-loop simulator seed 3088). Only an entry held with the same term is
  // taken: a refusal cannot commit what the peer does not hold.
  it('a refusal commits only an entry the candidate holds with the same term', () => {
    const net = lead3()
    // Appends reach b and c but no acknowledgement comes back: the entry stays uncommitted.
    net.filter = (m) => m.type !== MessageType.AppResp
    net.propose('a', 'pending')
    const c = net.raft('c')
    const last = c.log.lastIndex()
    const committed = c.log.committed
    expect(last).toBe(committed + 1)
    const refuse = (index: number, logTerm: number) =>
      inject(net, {
        type: MessageType.VoteResp,
        from: 'b',
        to: 'c',
        term: c.term,
        reject: true,
        index,
        logTerm,
      })
    refuse(last, c.log.lastTerm() + 1)
    refuse(last + 5, c.log.lastTerm())
    expect(c.log.committed).toBe(committed)
    refuse(last, c.log.lastTerm())
    expect(c.log.committed).toBe(last)
  })

  it("a vote refusal carries the voter's commit point", () => {
    const net = lead3()
    const refusals: Message[] = []
    net.filter = (m) => {
      if (m.type === MessageType.VoteResp && m.reject) refusals.push(m)
      return true
    }
    // b asks c for a vote at a's term: c already voted for a and refuses.
    inject(net, {
      type: MessageType.Vote,
      from: 'b',
      to: 'c',
      term: net.raft('c').term,
      index: 100,
      logTerm: 100,
    })
    expect(refusals).toHaveLength(1)
    expect(refusals[0].index).toBe(net.raft('c').log.committed)
    expect(refusals[0].logTerm).toBe(net.raft('c').log.termOrUndefined(net.raft('c').log.committed))
  })

  const outsiders: Array<[string, { learners?: string[] }]> = [
    ['a learner', { learners: ['d'] }],
    ['a peer outside the group (removed, or never added)', {}],
  ]
  for (const [who, opts] of outsiders) {
    it(`${who} cannot raise a voter's term or win its vote`, () => {
      const net = lead3({ ...opts, config: () => ({ preVote: false, checkQuorum: false, leaseTicks: 0 }) })
      const b = net.raft('b')
      const term = b.term
      // Its log is as long as ours: it knows no configuration we lack.
      const [index, logTerm] = [b.log.lastIndex(), b.log.lastTerm()]
      for (const type of [MessageType.Vote, MessageType.PreVote]) {
        inject(net, { type, from: 'd', to: 'b', term: term + 5, index, logTerm })
      }
      expect(b.term).toBe(term)
      expect(b.vote).toBe('a')
      expect(net.leader()).toBe('a')
      expect(net.raft('a').term).toBe(term)
    })
  }

  it('a learner whose promotion we hold but have not applied is heard', () => {
    const net = lead3({
      learners: ['d'],
      config: () => ({ preVote: false, checkQuorum: false, leaseTicks: 0 }),
    })
    // The promotion reaches b, but b never learns that it committed.
    let sent = false
    net.filter = (m) => {
      if (m.to !== 'b') return true
      const carries = m.type === MessageType.App && m.entries?.some((e) => e.type === EntryType.ConfChange)
      if (!carries || sent) return false
      sent = true
      return true
    }
    net.peer('a').node.proposeConfChange({ changes: [{ type: 'voter', id: 'd' }] })
    net.stabilize()
    const b = net.raft('b')
    expect(b.conf.voters).not.toContain('d')
    const term = b.term
    inject(net, {
      type: MessageType.Vote,
      from: 'd',
      to: 'b',
      term: term + 1,
      index: b.log.lastIndex(),
      logTerm: b.log.lastTerm(),
    })
    expect(b.term).toBe(term + 1)
    expect(b.vote).toBe('d')
  })

  it('a peer that knows no configuration yet still votes (it may be a voter the candidate needs)', () => {
    const net = lead3({ config: () => ({ preVote: false, checkQuorum: false, leaseTicks: 0 }) })
    const fresh = net.add('e', {
      voters: [],
      outgoing: [],
      learners: [],
      learnersNext: [],
      witnesses: [],
      autoLeave: false,
    })
    const votes: Message[] = []
    net.filter = (m) => {
      if (m.type === MessageType.VoteResp) votes.push(m)
      return m.to !== 'b'
    }
    inject(net, { type: MessageType.Vote, from: 'b', to: 'e', term: 50, index: 1000, logTerm: 1000 })
    expect(fresh.node.raft.vote).toBe('b')
    expect(votes.map((m) => m.reject ?? false)).toEqual([false])
  })
})

describe('a member lying in leader-only messages', () => {
  it('TimeoutNow from a peer that is not our leader starts no election', () => {
    const net = lead3()
    const b = net.raft('b')
    const term = b.term
    inject(net, { type: MessageType.TimeoutNow, from: 'c', to: 'b', term, index: 1e9 })
    expect(b.role).toBe('follower')
    expect(b.term).toBe(term)
    expect(net.leader()).toBe('a')
  })

  it('TimeoutNow from our leader still hands leadership over', () => {
    const net = lead3()
    inject(net, { type: MessageType.TimeoutNow, from: 'a', to: 'b', term: net.raft('b').term, index: 1e9 })
    expect(net.leader()).toBe('b')
  })

  it('a read index answered by a member that is not our leader is ignored', () => {
    const net = lead3()
    // c's read never reaches the leader; b forges the answer at an old index.
    net.filter = (m) => m.type !== MessageType.ReadIndex
    const ctx = Uint8Array.of(7, 7)
    net.peer('c').node.readIndex(ctx)
    net.stabilize()
    inject(net, {
      type: MessageType.ReadIndexResp,
      from: 'b',
      to: 'c',
      term: net.raft('c').term,
      index: 1,
      context: ctx,
      reject: true,
    })
    expect(net.peer('c').readStates).toEqual([])
    // The real answer still arrives from the leader.
    net.filter = null
    net.peer('c').node.readIndex(ctx)
    net.stabilize()
    expect(net.peer('c').readStates.map((r) => r.index)).toEqual([net.raft('a').log.committed])
  })
})

describe('a follower lying in its responses to the leader', () => {
  it('a heartbeat acknowledgement stamped in the future does not stretch the lease', () => {
    const net = lead3()
    net.tickAll(2)
    const a = net.raft('a')
    expect(a.leaseValid()).toBe(true)
    net.isolate('a')
    a.step({ type: MessageType.HeartbeatResp, from: 'b', to: 'a', term: a.term, index: a.ticks + 10_000 })
    let ticks = 0
    while (a.leaseValid() && ticks < 100) {
      net.tick('a')
      ticks++
    }
    // As without the lie: followers refuse votes for electionTick (10) ticks, the lease ends first.
    expect(ticks).toBeLessThan(10)
  })

  it('an append acknowledgement beyond the leader’s log is ignored', () => {
    const net = lead3()
    const a = net.raft('a')
    const last = a.log.lastIndex()
    a.step({ type: MessageType.AppResp, from: 'b', to: 'a', term: a.term, index: last + 100 })
    expect(a.progress.get('b')!.match).toBe(last)
    // Replication to b goes on.
    net.propose('a', 'y')
    expect(net.appliedText('b')).toEqual(['x', 'y'])
  })
})
