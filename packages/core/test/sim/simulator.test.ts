import { describe, expect, it } from 'vitest'
import type { RaftFaults } from '../../src/raft/config.js'
import { runSeed, type SeedOptions } from '../../src/sim/run-seed.js'

function firstViolation(fault: keyof RaftFaults, maxSeeds: number, options: SeedOptions = {}) {
  for (let seed = 1; seed <= maxSeeds; seed++) {
    const r = runSeed(seed, { ...options, faults: { [fault]: true } })
    if (r.violations.length > 0) return r
  }
  return undefined
}

describe('the simulator', () => {
  it('finds no violation across seeds of every shape and fault profile', () => {
    let operations = 0
    for (let seed = 1; seed <= 150; seed++) {
      const r = runSeed(seed)
      expect(r.violations, `seed ${seed}`).toEqual([])
      operations += r.operations
    }
    expect(operations).toBeGreaterThan(10_000)
  })

  it('replays a seed exactly', () => {
    const a = runSeed(42, { trace: true })
    const b = runSeed(42, { trace: true })
    expect(a.trace.length).toBeGreaterThan(1000)
    expect(b.trace).toEqual(a.trace)
    expect(b.operations).toBe(a.operations)
  })

  it('serves reads of every consistency level', () => {
    const reads = { readindex: 0, lease: 0, stale: 0, underLease: 0 }
    for (let seed = 1; seed <= 20; seed++) {
      for (const [k, n] of Object.entries(runSeed(seed).reads)) reads[k as keyof typeof reads] += n
    }
    expect(reads.readindex).toBeGreaterThan(100)
    expect(reads.underLease).toBeGreaterThan(100)
    expect(reads.stale).toBeGreaterThan(100)
  })
})

describe('the checkers can fail: each deliberately broken rule is caught', () => {
  it('granting two votes in one term breaks election safety', () => {
    const r = firstViolation('doubleVote', 100)
    expect(r?.violations.join('\n')).toMatch(
      /election safety|linearizability|committed entry|leader completeness/,
    )
  })

  it('answering bounded-staleness reads without proof breaks the staleness bound', () => {
    const r = firstViolation('unprovenStaleRead', 200)
    expect(r?.violations.join('\n')).toMatch(/bounded-staleness/)
  })

  it('serving lease reads after stepping down breaks linearizability', () => {
    const r = firstViolation('leaseAfterStepDown', 600, { shape: 1, profile: 'handoffs' })
    expect(r?.violations.join('\n')).toMatch(/linearizability/)
  })

  it('committing a previous-term entry by counting replicas loses a committed entry (Figure 8)', () => {
    const r = firstViolation('commitPreviousTerm', 1500, { shape: 0, profile: 'persistCrash' })
    expect(r?.violations.join('\n')).toMatch(/leader completeness|committed entry/)
  })

  it("a follower committing past an append's last entry commits a stale suffix (Raft's Figure 2 heartbeats)", () => {
    const r = firstViolation('uncappedFollowerCommit', 20, { profile: 'paperHeartbeats' })
    expect(r?.violations.join('\n')).toMatch(/committed entry|state machine safety/)
    // The same seed without the broken rule: the situation arises and the follower's cap holds.
    const clean = runSeed(r!.seed, { profile: 'paperHeartbeats' })
    expect(clean.violations).toEqual([])
    expect(clean.stats?.staleSuffixUnsafeCommit).toBeGreaterThan(0)
  })
})
