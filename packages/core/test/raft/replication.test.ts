import { describe, expect, it } from 'vitest'
import { MemoryLog } from '../../src/raft/log-storage.js'
import { type Entry, EntryType, MessageType } from '../../src/raft/messages.js'
import { RawNode } from '../../src/raft/raw-node.js'
import { TestNet } from './harness.js'

const bytes = (s: string) => new TextEncoder().encode(s)

describe('log replication (Raft §5.3)', () => {
  it('commits a proposal on a majority and every peer applies it in order', () => {
    const net = new TestNet(['a', 'b', 'c'])
    net.warm()
    net.elect('a')
    for (const v of ['x', 'y', 'z']) net.propose('a', v)
    for (const id of ['a', 'b', 'c']) expect(net.appliedText(id)).toEqual(['x', 'y', 'z'])
  })

  it('a follower forwards proposals to the leader', () => {
    const net = new TestNet(['a', 'b', 'c'])
    net.warm()
    net.elect('a')
    net.propose('c', 'from-c')
    expect(net.appliedText('a')).toEqual(['from-c'])
  })

  it('a proposal with no known leader is refused with ERR_PROPOSAL_DROPPED', () => {
    const net = new TestNet(['a', 'b', 'c'])
    expect(() => net.peer('a').node.propose(bytes('x'))).toThrow(
      expect.objectContaining({ code: 'ERR_PROPOSAL_DROPPED' }),
    )
  })

  it('does not commit without a majority', () => {
    const net = new TestNet(['a', 'b', 'c'])
    net.warm()
    net.elect('a')
    net.isolate('a')
    net.propose('a', 'lonely')
    expect(net.appliedText('a')).toEqual([])
    net.heal()
    net.tickAll(1)
    expect(net.appliedText('b')).toEqual(['lonely'])
  })

  it('repairs a follower with a conflicting suffix, backing off by term (Figure 7)', () => {
    const net = new TestNet(['a', 'b', 'c'])
    net.warm()
    net.elect('a')
    net.propose('a', 'shared')
    // a leads alone for a while: its uncommitted tail must be overwritten later.
    net.isolate('a')
    for (const v of ['a1', 'a2', 'a3', 'a4']) net.peer('a').node.propose(bytes(v))
    net.stabilize()
    net.heal()
    net.isolate('a')
    net.lapse(['b', 'c'])
    net.elect('b')
    for (const v of ['b1', 'b2']) net.propose('b', v)
    net.heal()
    const rejectsBefore = net.delivered.filter((m) => m.type === MessageType.AppResp && m.reject).length
    net.tickAll(3)
    const rejects =
      net.delivered.filter((m) => m.type === MessageType.AppResp && m.reject).length - rejectsBefore
    expect(net.appliedText('a')).toEqual(['shared', 'b1', 'b2'])
    // One rejection names the conflicting term, so the leader skips the whole term at once.
    expect(rejects).toBeLessThanOrEqual(2)
    const termsA = net
      .peer('a')
      .log.entries(2, net.peer('a').log.lastIndex() + 1, 1e9)
      .map((e) => e.term)
    const termsB = net
      .peer('b')
      .log.entries(2, net.peer('b').log.lastIndex() + 1, 1e9)
      .map((e) => e.term)
    expect(termsA).toEqual(termsB)
  })

  it('batches entries into one append up to maxSizePerMsg', () => {
    const net = new TestNet(['a', 'b', 'c'], { config: () => ({ maxSizePerMsg: 200 }) })
    net.warm()
    net.elect('a')
    net.isolate('b')
    for (let i = 0; i < 20; i++) net.peer('a').node.propose(bytes(`v${i}`))
    net.stabilize()
    const before = net.delivered.length
    net.heal()
    net.tickAll(2)
    const apps = net.delivered.slice(before).filter((m) => m.type === MessageType.App && m.to === 'b')
    const biggest = Math.max(...apps.map((m) => m.entries?.length ?? 0))
    expect(biggest).toBeGreaterThan(1)
    for (const m of apps) {
      const size = (m.entries ?? []).reduce((n, e) => n + e.data.length + 24, 0)
      if ((m.entries?.length ?? 0) > 1) expect(size).toBeLessThanOrEqual(200)
    }
    expect(net.appliedText('b')).toHaveLength(20)
  })

  it('pipelines at most maxInflightMsgs appends to a follower that does not answer', () => {
    const net = new TestNet(['a', 'b', 'c'], { config: () => ({ maxInflightMsgs: 3, maxSizePerMsg: 1 }) })
    net.warm()
    net.elect('a')
    net.propose('a', 'warmup') // b and c are now in replicate state
    net.filter = (m) => !(m.from === 'b' && m.type === MessageType.AppResp)
    const before = net.countDelivered(MessageType.App, 'b')
    for (let i = 0; i < 10; i++) net.peer('a').node.propose(bytes(`v${i}`))
    net.stabilize()
    expect(net.countDelivered(MessageType.App, 'b') - before).toBe(3)
    expect(net.countDelivered(MessageType.App, 'c') - before).toBeGreaterThanOrEqual(10)
  })
})

describe('commit rule (Raft §5.4.2, Figure 8)', () => {
  /**
   * Figure 8: s1 leads term 2 and replicates index 2 to s2 only; s5 leads term 3 with its own
   * index 2; s1 leads term 4 and gets its term-2 entry onto a majority. Counting replicas must
   * not commit it: s5 could still be elected and overwrite it.
   */
  function figure8(faults = {}) {
    const ids = ['s1', 's2', 's3', 's4', 's5']
    const conf = {
      voters: ids,
      outgoing: [],
      learners: [],
      learnersNext: [],
      witnesses: [],
      autoLeave: false,
    }
    const entry = (index: number, term: number): Entry => ({
      index,
      term,
      type: EntryType.Normal,
      data: bytes(`t${term}`),
    })
    const logs: Record<string, Entry[]> = {
      s1: [entry(1, 1), entry(2, 2)],
      s2: [entry(1, 1), entry(2, 2)],
      s3: [entry(1, 1)],
      s4: [entry(1, 1)],
      s5: [entry(1, 1), entry(2, 3)],
    }
    const log = new MemoryLog(conf)
    log.append(logs.s1)
    log.setHardState({ term: 3, vote: '', commit: 1 })
    const s1 = new RawNode({ id: 's1', storage: log, random: () => 0.99, faults })
    // s1 wins term 4 with votes from s2 and s3.
    for (let i = 0; i < 10; i++) s1.tick()
    s1.campaign()
    const vote = (from: string, type: number, term: number) =>
      s1.step({ type, from, to: 's1', term } as never)
    vote('s2', MessageType.PreVoteResp, 4)
    vote('s3', MessageType.PreVoteResp, 4)
    vote('s2', MessageType.VoteResp, 4)
    vote('s3', MessageType.VoteResp, 4)
    expect(s1.raft.role).toBe('leader')
    // s3 accepts index 2 (term 2) but not yet the term-4 no-op at index 3.
    s1.step({ type: MessageType.AppResp, from: 's2', to: 's1', term: 4, index: 2 })
    s1.step({ type: MessageType.AppResp, from: 's3', to: 's1', term: 4, index: 2 })
    return { s1, log }
  }

  it('does not commit a previous-term entry by counting replicas', () => {
    expect(figure8().s1.raft.log.committed).toBe(1)
  })

  it('the deliberately broken rule does commit it (the simulator must catch this)', () => {
    expect(figure8({ commitPreviousTerm: true }).s1.raft.log.committed).toBe(2)
  })

  it('commits the old entry with the first entry of its own term', () => {
    const { s1, log } = figure8()
    const rd = s1.ready()
    log.append(rd.entries)
    s1.advance() // s1's own no-op is now durable
    expect(rd.entries.at(-1)?.term).toBe(4)
    s1.step({ type: MessageType.AppResp, from: 's2', to: 's1', term: 4, index: 3 })
    s1.step({ type: MessageType.AppResp, from: 's3', to: 's1', term: 4, index: 3 })
    expect(s1.raft.log.committed).toBe(3)
  })
})
