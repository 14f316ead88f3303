import { describe, expect, it } from 'vitest'
import { type ConfState, type Message, MessageType } from '../../src/raft/messages.js'
import type { Raft } from '../../src/raft/raft.js'
import { HandoverCheck } from '../../src/sim/handover-check.js'
import { runPeerSeed } from '../../src/sim/run-peer-seed.js'
import { runSeed } from '../../src/sim/run-seed.js'
import { emptyStats } from '../../src/sim/stats.js'

const SEEDS = [1, 2, 3, 4]
const SLOW = 300_000

const conf = (voters: string[], outgoing: string[] = []): ConfState => ({
  voters,
  outgoing,
  learners: [],
  learnersNext: [],
  witnesses: [],
  autoLeave: outgoing.length > 0,
})
const timeoutNow = (to: string): Message => ({ type: MessageType.TimeoutNow, from: 'p2', to, term: 3 })

/** Just what the check reads of a follower's Raft (a leader's is read for the stats too). */
function fakeRaft(c: ConfState, msgs: Message[] = []): Raft {
  return { conf: c, msgs, role: 'follower', term: 3 } as unknown as Raft
}

describe('the handover check', () => {
  const joint = conf(['p2', 'p3', 'p4'], ['p1', 'p2', 'p3'])

  it('reports a TimeoutNow produced in a joint configuration to an outgoing-only voter', () => {
    const found: string[] = []
    const check = new HandoverCheck((v) => found.push(v), emptyStats())
    check.onReady('p2', fakeRaft(joint), [timeoutNow('p3'), timeoutNow('p1')])
    expect(found).toHaveLength(1)
    expect(found[0]).toMatch(/p2 \(term 3\) sent TimeoutNow to p1, only an outgoing voter/)
  })

  it('judges a message queued before advance() by the configuration it was produced under', () => {
    const found: string[] = []
    const check = new HandoverCheck((v) => found.push(v), emptyStats())
    const before = conf(['p1', 'p2', 'p3'])
    check.onReady('p2', fakeRaft(before), [])
    // Produced while p1 was still a voter of a plain configuration; advance() then entered the
    // joint one that removes p1, and the next Ready carries the message.
    const queued = [timeoutNow('p1')]
    check.onAdvanced('p2', fakeRaft(joint, queued))
    check.onReady('p2', fakeRaft(joint), queued)
    expect(found).toEqual([])
    // The same message produced after advance() is the violation.
    check.onReady('p2', fakeRaft(joint), [timeoutNow('p1')])
    expect(found).toHaveLength(1)
  })
})

// preferredSwaps (faults.ts): the top-ranked voter is swapped out while a lower-ranked one leads.
// Its first seeds run clean in both drivers, and most reach the situation (stats.ts).
describe('preferredSwaps reaches a handover that could pick an outgoing voter', () => {
  it('the Raft-only loop', () => {
    let reached = 0
    for (const seed of SEEDS) {
      const r = runSeed(seed, { profile: 'preferredSwaps' })
      expect(r.violations, `seed ${seed}`).toEqual([])
      if ((r.stats?.preferredOutgoing ?? 0) > 0) reached++
    }
    expect(reached).toBeGreaterThanOrEqual(SEEDS.length / 2)
  })

  it(
    'the world of real peers',
    async () => {
      let reached = 0
      for (const seed of SEEDS) {
        const r = await runPeerSeed(seed, { profile: 'preferredSwaps' })
        expect(r.violations, `seed ${seed}`).toEqual([])
        if (r.stats.preferredOutgoing > 0) reached++
      }
      expect(reached).toBeGreaterThanOrEqual(SEEDS.length / 2)
    },
    SLOW,
  )
})
