import { describe, expect, it } from 'vitest'
import { runPeerSeed } from '../../src/sim/run-peer-seed.js'
import { emptyStats, type SimStats } from '../../src/sim/stats.js'

/** Runs seeds 1..n of one pinned profile over real peers; each must be clean. Sums the stats. */
async function runProfile(profile: string, n: number): Promise<SimStats & { shapes: string[] }> {
  const total = emptyStats()
  const shapes: string[] = []
  for (let seed = 1; seed <= n; seed++) {
    const r = await runPeerSeed(seed, { profile })
    expect(r.violations, `${profile} seed ${seed}`).toEqual([])
    shapes.push(r.shape)
    for (const k of Object.keys(total) as (keyof SimStats)[]) total[k] += r.stats[k]
  }
  return { ...total, shapes }
}

const SLOW = 120_000

// Issue 17's situations, now produced over real openPeer instances and the real state machine.
describe('the peer world reaches the situations its profiles are for', () => {
  it(
    'snapshots: multi-chunk snapshots of the real state machine, some landing mid-Ready',
    async () => {
      const s = await runProfile('snapshots', 4)
      expect(s.chunkedSnapshots).toBeGreaterThan(0)
      expect(s.snapshotsDuringReady).toBeGreaterThan(0)
    },
    SLOW,
  )

  it(
    "restarts: replies to a previous run's probes reach the next run",
    async () => {
      expect((await runProfile('restarts', 3)).repliesAcrossRestart).toBeGreaterThan(0)
    },
    SLOW,
  )

  it(
    'lateVotes: transfer votes arrive more than an election timeout late',
    async () => {
      expect((await runProfile('lateVotes', 4)).lateTransferVotes).toBeGreaterThan(0)
    },
    SLOW,
  )

  it(
    "figure8: appends reach followers holding a deposed leader's suffix, never accepted over it (9a's precondition)",
    async () => {
      const s = await runProfile('figure8', 3)
      expect(s.appendsToStaleSuffix).toBeGreaterThan(0)
      expect(s.appendsOverLongerLog).toBeGreaterThan(0)
      expect(s.staleSuffixUnchecked).toBe(0)
      expect(s.staleSuffixAppends).toBe(0)
    },
    SLOW,
  )

  it(
    'leaseEdge: election timeouts up to 30 ticks with clocks at the drift bound',
    async () => {
      const { shapes } = await runProfile('leaseEdge', 3)
      expect(shapes.some((s) => /electionTick (16|24|30)$/.test(s))).toBe(true)
    },
    SLOW,
  )
})
