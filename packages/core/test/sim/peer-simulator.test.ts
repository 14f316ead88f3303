import { describe, expect, it } from 'vitest'
import { runPeerSeed } from '../../src/sim/run-peer-seed.js'

// Real peers are slower to simulate than the Raft loop: fewer seeds, longer timeouts.
const SLOW = 600_000

describe('the simulator driving openPeer', () => {
  it(
    'finds no violation across seeds of every shape and fault profile',
    async () => {
      let operations = 0
      const reads: Record<string, number> = {}
      for (let seed = 1; seed <= 12; seed++) {
        const r = await runPeerSeed(seed)
        expect(r.violations, `seed ${seed} (${r.shape})`).toEqual([])
        operations += r.operations
        for (const [k, n] of Object.entries(r.reads)) reads[k] = (reads[k] ?? 0) + n
      }
      expect(operations).toBeGreaterThan(500)
      for (const level of ['linearizable', 'lease', 'bounded', 'local', 'bounded+minIndex'])
        expect(reads[level], level).toBeGreaterThan(5)
      expect(reads.lostReplies).toBeGreaterThan(0)
    },
    SLOW,
  )

  it(
    'replays a seed exactly',
    async () => {
      const a = await runPeerSeed(7, { trace: true })
      const b = await runPeerSeed(7, { trace: true })
      expect(a.trace.length).toBeGreaterThan(100)
      expect(b.trace).toEqual(a.trace)
      expect(b.steps).toBe(a.steps)
      expect(b.operations).toBe(a.operations)
    },
    SLOW,
  )
})

describe('seeds that caught a bug in the peer stay clean', () => {
  // A leader inside its lease claimed a staleness of 0 for local and bounded reads while its
  // state machine still lagged its commit index (peer/reads.ts boundNow).
  it.each([
    [131, 4, 'leaseEdge'],
    [573, 2, 'reconfig'],
  ])(
    'seed %i (shape %i, %s): a lagging leader claims no staleness bound',
    async (seed, shape, profile) => {
      const r = await runPeerSeed(seed, { shape, profile })
      expect(r.violations).toEqual([])
    },
    SLOW,
  )
})

describe('the checks of the peer world hold in correct runs', () => {
  // A leader that restarted (its term never durable, a lone voter) led the same term again:
  // the Figure 8 steer took its inherited commit index for a counted one, and the log check
  // took the entries it had lost in the crash for entries of a log.
  it(
    'seed 1568: no Figure 8 steer and no log-matching report without a broken rule',
    async () => {
      const r = await runPeerSeed(1568, { trace: true })
      expect(r.violations).toEqual([])
      expect(r.trace.filter((l) => l.includes('earlier term'))).toEqual([])
    },
    SLOW,
  )
})
