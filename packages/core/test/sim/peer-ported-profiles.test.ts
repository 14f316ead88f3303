import { describe, expect, it } from 'vitest'
import { runPeerSeed } from '../../src/sim/run-peer-seed.js'
import type { SimStats } from '../../src/sim/stats.js'

const SLOW = 600_000
const SEEDS = [1, 2]

// The profiles ported from issue-9c for the planted bugs of issues 9 and 17
// (docs/sim-planted-bugs.md): each runs clean and produces the situation it exists for.
const PROFILES: { profile: string; situation: RegExp; shape?: number; stat?: keyof SimStats }[] = [
  { profile: 'swaps', situation: /joint change \+\S+ -\S+ done/, shape: 6 },
  { profile: 'slowLinks', situation: /link \S+>\S+ slow/ },
  { profile: 'campaigns', situation: /\S+ will campaign/ },
  { profile: 'slowRestarts', situation: /restart storm at/, stat: 'repliesAcrossRestart' },
  { profile: 'lateTransfers', situation: /late transfer/, stat: 'lateTransferVotes' },
  { profile: 'leaderMinority', situation: /leader \S+ isolated with a minority/ },
]

describe('peer-world profiles ported from issue-9c', () => {
  for (const { profile, situation, shape, stat } of PROFILES)
    it(
      `${profile}: seeds ${SEEDS.join(', ')} run clean and reach their situation`,
      async () => {
        for (const seed of SEEDS) {
          const r = await runPeerSeed(seed, { profile, shape, trace: true })
          expect(r.violations, `${profile} seed ${seed}`).toEqual([])
          expect(
            r.trace.some((l) => situation.test(l)),
            `${profile} seed ${seed}`,
          ).toBe(true)
          if (stat) expect(r.stats[stat], `${profile} seed ${seed}: ${stat}`).toBeGreaterThan(0)
        }
      },
      SLOW,
    )
})
