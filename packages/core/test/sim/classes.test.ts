import { describe, expect, it } from 'vitest'
import { runSeed } from '../../src/sim/run-seed.js'
import { emptyStats, type SimStats } from '../../src/sim/stats.js'

/** Runs seeds 1..n of one pinned profile; every one must be clean. Returns the summed stats. */
function runProfile(profile: string, n: number): SimStats & { shapes: string[] } {
  const total = emptyStats()
  const shapes: string[] = []
  for (let seed = 1; seed <= n; seed++) {
    const r = runSeed(seed, { profile })
    expect(r.violations, `${profile} seed ${seed}`).toEqual([])
    shapes.push(r.shape)
    for (const k of Object.keys(total) as (keyof SimStats)[]) total[k] += r.stats?.[k] ?? 0
  }
  return { ...total, shapes }
}

// The situations the review of issue 17 found the simulator never produced: each profile must
// actually produce its own.
describe('the simulator reaches the situations its profiles are for', () => {
  it('snapshots: multi-chunk snapshots, some restored between ready() and advance()', () => {
    const s = runProfile('snapshots', 6)
    expect(s.chunkedSnapshots).toBeGreaterThan(0)
    expect(s.snapshotsDuringReady).toBeGreaterThan(0)
  })

  it("restarts: replies to a previous run's requests reach the next run", () => {
    expect(runProfile('restarts', 4).repliesAcrossRestart).toBeGreaterThan(0)
  })

  it('lateVotes: transfer votes arrive more than an election timeout late', () => {
    expect(runProfile('lateVotes', 4).lateTransferVotes).toBeGreaterThan(0)
  })

  it('staleAppends: appends arrive late, after newer ones', () => {
    expect(runProfile('staleAppends', 3).replayedAppends).toBeGreaterThan(0)
  })

  it('leaseExpiry (pinned only): the majority elects a new leader while the old one is cut off', () => {
    for (const seed of [1, 2]) {
      const r = runSeed(seed, { profile: 'leaseExpiry', trace: true })
      expect(r.violations, `seed ${seed}`).toEqual([])
      // A new leader between an isolation and the end of that partition.
      let isolated = ''
      let elected = false
      for (const line of r.trace) {
        const cut = / leader (\S+) isolated with a minority/.exec(line)
        if (cut) isolated = cut[1]
        else if (/ partition of .* heals/.test(line)) isolated = ''
        const won = / (\S+) is leader \(term/.exec(line)
        if (isolated && won && won[1] !== isolated) elected = true
      }
      expect(elected, `seed ${seed}`).toBe(true)
    }
  })

  it("staleAppends: appends reach followers holding a deposed leader's suffix, never accepted over it (9a's precondition)", () => {
    const s = runProfile('staleAppends', 6)
    expect(s.appendsToStaleSuffix).toBeGreaterThan(0)
    expect(s.appendsOverLongerLog).toBeGreaterThan(0)
    expect(s.staleSuffixUnchecked).toBe(0)
    expect(s.staleSuffixAppends).toBe(0)
  })

  it('draws election timeouts up to 30 ticks', () => {
    const shapes: string[] = []
    for (let seed = 1; seed <= 20; seed++) shapes.push(runSeed(seed, { faultMs: 300 }).shape)
    expect(shapes.some((s) => s.endsWith('electionTick 30'))).toBe(true)
    expect(shapes.some((s) => s.endsWith('electionTick 10'))).toBe(true)
  })
})

describe('replica-specific snapshot bytes', () => {
  it('a snapshot stitched from two replicas fails to restore', async () => {
    const { KvStore, SnapshotCorruptError } = await import('../../src/sim/kv.js')
    const kv = new KvStore()
    kv.apply(2, new Uint8Array(0))
    const a = kv.serialize('p1')
    const b = kv.serialize('p2')
    expect(KvStore.restore(a).applied).toBe(2)
    const cut = Math.min(a.length, b.length) >> 1
    const stitched = new Uint8Array(b.length)
    stitched.set(a.subarray(0, cut))
    stitched.set(b.subarray(cut), cut)
    expect(() => KvStore.restore(stitched)).toThrow(SnapshotCorruptError)
  })
})
