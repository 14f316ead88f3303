import { describe, expect, it } from 'vitest'
import type { DriverFaults } from '../../src/peer/driver.js'
import type { RaftFaults } from '../../src/raft/config.js'
import { type PeerSeedOptions, runPeerSeed } from '../../src/sim/run-peer-seed.js'

type Fault = keyof (RaftFaults & DriverFaults)

async function firstViolation(fault: Fault, maxSeeds: number, options: PeerSeedOptions = {}) {
  for (let seed = 1; seed <= maxSeeds; seed++) {
    const r = await runPeerSeed(seed, { ...options, faults: { [fault]: true } })
    if (r.violations.length > 0) return r
  }
  return undefined
}

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

describe('each broken driver rule is caught by the simulator driving openPeer', () => {
  it(
    'sending before persisting loses a vote or an acknowledged entry',
    async () => {
      const r = await firstViolation('sendBeforePersist', 60, { profile: 'persistCrash' })
      expect(r?.violations.join('\n')).toMatch(
        /election safety|committed entry|leader completeness|log matching|linearizability|applied at/,
      )
    },
    SLOW,
  )

  it(
    "serving reads by Raft's applied index answers a state other than the one it names",
    async () => {
      const r = await firstViolation('readFromRaftApplied', 60)
      expect(r?.violations.join('\n')).toMatch(/read index|minIndex|linearizability|bounded-staleness/)
    },
    SLOW,
  )
})
