import { describe, expect, it } from 'vitest'
import type { DriverFaults } from '../../src/peer/driver.js'
import type { RaftFaults } from '../../src/raft/config.js'
import { type PeerSeedOptions, runPeerSeed } from '../../src/sim/run-peer-seed.js'

type Fault = keyof (RaftFaults & DriverFaults)

/** The first of seeds 1..maxSeeds whose run with `fault` reports a violation. */
async function firstViolation(fault: Fault, maxSeeds: number, options: PeerSeedOptions = {}) {
  for (let seed = 1; seed <= maxSeeds; seed++) {
    const r = await runPeerSeed(seed, { ...options, faults: { [fault]: true } })
    if (r.violations.length > 0) return r
  }
  return undefined
}

const SLOW = 120_000

// Every built-in broken rule, five of Raft's and two of the driver's, is caught by the simulator
// driving real openPeer instances, within a few seeds of a pinned shape and profile.
describe('each broken rule is caught by the simulator driving openPeer', () => {
  it(
    'doubleVote: two votes in one term break election safety',
    async () => {
      const r = await firstViolation('doubleVote', 10)
      expect(r?.violations.join('\n')).toMatch(
        /election safety|committed entry|leader completeness|log matching|linearizability/,
      )
    },
    SLOW,
  )

  it(
    'unprovenStaleRead: bounded reads answered without a proof miss acknowledged writes',
    async () => {
      const r = await firstViolation('unprovenStaleRead', 10)
      expect(r?.violations.join('\n')).toMatch(/bounded-staleness/)
    },
    SLOW,
  )

  it(
    'leaseAfterStepDown: a deposed leader still answering lease reads breaks linearizability',
    async () => {
      const r = await firstViolation('leaseAfterStepDown', 40, { shape: 1, profile: 'handoffs' })
      expect(r?.violations.join('\n')).toMatch(/linearizability|lease/)
    },
    SLOW,
  )

  it(
    'commitPreviousTerm: counting replicas of an earlier term loses a committed entry (Figure 8)',
    async () => {
      const r = await firstViolation('commitPreviousTerm', 15, { shape: 0, profile: 'figure8' })
      expect(r?.violations.join('\n')).toMatch(/leader completeness|committed entry|state machine safety/)
    },
    SLOW,
  )

  it(
    'sendBeforePersist: sending before persisting loses a vote or an acknowledged entry',
    async () => {
      const r = await firstViolation('sendBeforePersist', 20, { profile: 'persistCrash' })
      expect(r?.violations.join('\n')).toMatch(
        /election safety|committed entry|leader completeness|log matching|linearizability|applied at/,
      )
    },
    SLOW,
  )

  it(
    "readFromRaftApplied: reads by Raft's applied index answer a state other than the one they name",
    async () => {
      const r = await firstViolation('readFromRaftApplied', 10, { shape: 2, profile: 'snapshots' })
      expect(r?.violations.join('\n')).toMatch(/read index|minIndex|linearizability|bounded-staleness/)
    },
    SLOW,
  )

  it(
    "uncappedFollowerCommit: committing past an append's last entry commits a stale suffix (Figure 2 heartbeats)",
    async () => {
      const r = await firstViolation('uncappedFollowerCommit', 20, { profile: 'paperHeartbeats' })
      expect(r?.violations.join('\n')).toMatch(/committed entry|state machine safety/)
      const clean = await runPeerSeed(r!.seed, { profile: 'paperHeartbeats' })
      expect(clean.violations).toEqual([])
      expect(clean.stats?.staleSuffixUnsafeCommit).toBeGreaterThan(0)
    },
    SLOW,
  )
})
