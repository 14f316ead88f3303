import { MessageType } from '../raft/messages.js'
import {
  changeMembership,
  crashAndRestart,
  isolate,
  isolateLeaderWithMinority,
  manualCampaign,
  partition,
  restartStorm,
  slowApply,
  slowDown,
  staleTransfer,
  transferLeadership,
} from './fault-actions.js'
import { campaignInLease, lateTransfer, slowLeaderLink, slowRestartStorm } from './fault-links.js'
import { slowReadAcks } from './fault-reads.js'
import { swapOutPreferred, swapVoters } from './fault-swaps.js'
import type { FaultPeer, FaultWorld } from './fault-world.js'
import type { Rng } from './rng.js'
import { PRIORITY_SHAPES, type Shape, shapeFor } from './shapes.js'

type FaultAction =
  | 'partition'
  | 'crash'
  | 'crashLeader'
  | 'membership'
  | 'jointChange'
  | 'delayedChange'
  | 'transfer'
  | 'staleTransfer'
  | 'isolateLeader'
  | 'isolateLeaderEager'
  | 'restartStorm'
  | 'slow'
  | 'slowApply'
  | 'campaign'
  | 'stall'
  | 'stallLeader'
  | 'slowLink'
  | 'slowRestartStorm'
  | 'lateTransfer'
  | 'campaignInLease'
  | 'swap'
  | 'swapPreferred'
  | 'slowReadAcks'
  | 'quiet'

interface Profile {
  weights: Partial<Record<FaultAction, number>>
  gap: [number, number]
  /** Chance that a leader crashes between persisting a Ready and sending it. */
  persistCrash?: number
  /** Take snapshots this often (entries), so that they race with everything else. */
  snapshotEvery?: [number, number]
  /** Chance that an append is delivered again much later. */
  replay?: number
  /** Chance per heartbeat that the leader also sends Raft's Figure 2 form of it. */
  paperHeartbeat?: number
  /** Bytes per append: small values send one entry per append. */
  maxSizePerMsg?: number
  /** Election timeouts to draw from (default: run-seed's range). */
  electionTicks?: number[]
  /** Network delay bounds to draw from (ms). */
  maxDelays?: number[]
  /** Worlds of real peers: chance, per Ready with a write, of a crash while it is in flight. */
  midWriteCrash?: number
  /** Shapes to draw from instead of the default ones (unless a shape is pinned). */
  shapes?: Shape[]
  /**
   * Raft-only loop: every this many ms, each peer's read numbering jumps to the highest any peer
   * reached, so that different peers' reads in flight carry the same contexts.
   */
  alignReadsMs?: number
}

/** Fault profiles: each seed draws one, so that rare interleavings get a fair share of seeds. */
export const PROFILES: Record<string, Profile> = {
  mixed: {
    weights: {
      partition: 3,
      crash: 1,
      crashLeader: 1,
      membership: 1,
      jointChange: 1,
      transfer: 1,
      slow: 1,
      quiet: 1,
    },
    gap: [40, 400],
  },
  // Leaders crash and come back quickly: the situations of Raft's Figure 8.
  leaderChurn: {
    weights: { crashLeader: 5, partition: 2, crash: 1, quiet: 1 },
    gap: [20, 150],
    persistCrash: 0.15,
  },
  // Leadership moves often: leases must end with it.
  handoffs: { weights: { transfer: 5, partition: 1, slow: 1, quiet: 1 }, gap: [30, 200] },
  // Leaders often die between making a write durable and sending it (see crashAfterPersist).
  persistCrash: { weights: { crashLeader: 1, partition: 1, quiet: 3 }, gap: [50, 300], persistCrash: 0.35 },
  // Transfers and membership changes whose votes and replies arrive long after.
  lateVotes: {
    weights: { staleTransfer: 4, delayedChange: 2, transfer: 1, campaign: 1, partition: 1, quiet: 1 },
    gap: [60, 300],
  },
  // The leader loses the majority with a minority; clients keep reading from it.
  // Long election timeouts leave the lease the least margin; a fast network elects quickly.
  // Followers also start elections by hand inside the lease.
  leaseEdge: {
    weights: { isolateLeader: 5, campaign: 1, slow: 1, quiet: 1 },
    gap: [100, 400],
    electionTicks: [16, 24, 30],
    maxDelays: [1, 2, 5],
  },
  // Followers restart while replies to their previous run are still in flight.
  restarts: { weights: { restartStorm: 4, crash: 1, partition: 1, quiet: 1 }, gap: [80, 300] },
  // Membership changes and small snapshots with slow drivers: snapshots arrive between ready()
  // and advance(), and chunked transfers meet leader changes and duplicated acknowledgements.
  // Leaders change often and appends are replayed late, one entry each, over followers whose
  // log still holds a deposed leader's suffix: a leader cut off with a minority keeps taking
  // writes it cannot commit (without it, 2 appends in 20 seeds met such a suffix).
  staleAppends: {
    weights: { crashLeader: 3, partition: 3, isolateLeader: 3, crash: 1, quiet: 1 },
    gap: [20, 200],
    replay: 0.2,
    maxSizePerMsg: 40,
  },
  snapshots: {
    weights: { membership: 2, jointChange: 2, slowApply: 3, slow: 1, crashLeader: 1, partition: 2, quiet: 1 },
    gap: [30, 200],
    snapshotEvery: [3, 8],
  },
  // The top-ranked voter is swapped out while a lower-ranked one leads, the joint configuration
  // held open past that leader's first election timeout: the priority handover must not pick it.
  preferredSwaps: {
    weights: { swapPreferred: 4, crash: 1, partition: 1, quiet: 1 },
    gap: [150, 400],
    shapes: PRIORITY_SHAPES,
  },
}

/**
 * Profiles run only when pinned (`--profile NAME`): seeds drawn by default never pick them, so
 * adding one changes no default seed.
 */
export const PINNED_PROFILES: Record<string, Profile> = {
  // leaseEdge's isolated leader, with the majority campaigning by hand the moment Raft allows
  // it: a new leader appears at the earliest time the followers' clocks permit, at the longest
  // election timeout (where a lease's drift margin is thinnest) and on a fast network.
  leaseExpiry: {
    weights: { isolateLeaderEager: 1 },
    gap: [400, 700],
    electionTicks: [30],
    maxDelays: [1],
  },
  // staleAppends, with leaders that also send the heartbeat of Raft's Figure 2: an empty append
  // at the follower's next index carrying the whole commit index. Over a stale suffix it is
  // accepted, and only the follower's cap at the append's last entry keeps the suffix uncommitted.
  paperHeartbeats: { ...PROFILES.staleAppends, paperHeartbeat: 0.5 },
}

/**
 * The profiles of the Raft-only loop: the shared ones, plus reads of different peers that carry
 * the same context while writes complete around them (issue 17's merged read contexts).
 */
export const RAFT_PROFILES: Record<string, Profile> = {
  ...PROFILES,
  // Heartbeat acks are late, so reads queue at the leader while writes complete; peers' read
  // numbers are aligned often, so queued reads of different peers share contexts.
  clashingReads: {
    weights: { slowReadAcks: 4, crashLeader: 1, partition: 1, quiet: 1 },
    gap: [60, 300],
    alignReadsMs: 40,
  },
}

/**
 * The profiles of the world of real peers: the same, plus stalled timers (paused processes,
 * frozen tabs), crashes in the middle of a write, and membership changes through the API.
 */
export const PEER_PROFILES: Record<string, Profile> = {
  ...PROFILES,
  mixed: {
    ...PROFILES.mixed,
    weights: { ...PROFILES.mixed.weights, stall: 1 },
    persistCrash: 0.03,
    midWriteCrash: 0.005,
  },
  persistCrash: { ...PROFILES.persistCrash, midWriteCrash: 0.02 },
  // Paused processes and frozen tabs: timers stop for several election timeouts, clocks run on.
  stalls: { weights: { stall: 2, stallLeader: 3, partition: 1, quiet: 1 }, gap: [50, 300] },
  // Raft's Figure 8: leaders die between a durable write and sending it, fresh leaders die within
  // milliseconds, one entry per append, so an old leader's entry reaches a majority before its own.
  figure8: {
    weights: { crashLeader: 4, partition: 1, quiet: 1 },
    gap: [20, 150],
    persistCrash: 0.3,
    maxSizePerMsg: 40,
  },
  // Members come and go one at a time through the API while peers crash and links are cut.
  reconfig: { weights: { membership: 4, partition: 1, crash: 1, crashLeader: 1, quiet: 1 }, gap: [60, 300] },
  // Profiles ported from issue-9c (docs/sim-planted-bugs.md says which planted bug each catches).
  // The leader's link to one follower is slow: its log and freshness proofs arrive late.
  slowLinks: { weights: { slowLink: 4, partition: 1, crashLeader: 1, quiet: 1 }, gap: [50, 300] },
  // The leader is cut off with a minority while clients keep reading from it, at 10-tick timeouts.
  leaderMinority: {
    weights: { isolateLeader: 3, transfer: 1, crash: 1, quiet: 1 },
    gap: [60, 400],
    electionTicks: [10],
  },
  // Followers campaign by hand while the leader loses touch with another; a fast network, so
  // pre-votes come back before the leader's next heartbeat.
  campaigns: {
    weights: { campaignInLease: 3, partition: 3, isolateLeader: 1, quiet: 1 },
    gap: [30, 200],
    electionTicks: [10],
    maxDelays: [1, 2, 4],
  },
  // Followers restart while the leader's replies to their previous runs are late, in order.
  slowRestarts: { weights: { slowRestartStorm: 4, crash: 1, partition: 1, quiet: 1 }, gap: [80, 300] },
  // A transferee's messages of its new term arrive after the transfer was given up (at the leader
  // later still, once its lease ran out).
  lateTransfers: {
    weights: { lateTransfer: 4, campaignInLease: 1, partition: 1, quiet: 1 },
    gap: [60, 300],
    electionTicks: [10],
  },
  // One or two voters swapped for others in one joint configuration, the leaving ones often cut off.
  swaps: { weights: { swap: 4, membership: 1, partition: 1, crashLeader: 1, quiet: 1 }, gap: [80, 300] },
}

function pickWeighted<T extends string>(rng: Rng, weights: Partial<Record<T, number>>): T {
  const entries = Object.entries(weights) as [T, number][]
  let r = rng.next() * entries.reduce((n, [, w]) => n + w, 0)
  for (const [k, w] of entries) {
    r -= w
    if (r < 0) return k
  }
  return entries[entries.length - 1][0]
}

/** The seed's shape and profile: drawn, or pinned (a profile may name its own shapes). */
export function shapeAndProfile(
  rng: Rng,
  pinned: { shape?: number; profile?: string },
  profiles: Record<string, Profile> = PROFILES,
): { shape: Shape; name: string; profile: Profile } {
  const drawn = shapeFor(rng, pinned.shape)
  const { name, profile } = profileFor(rng, pinned.profile, profiles)
  const own = pinned.shape === undefined ? profile.shapes : undefined
  return { shape: own ? rng.pick(own) : drawn, name, profile }
}

/** The seed's profile: drawn, or pinned by name. */
export function profileFor(
  rng: Rng,
  pinned?: string,
  profiles: Record<string, Profile> = PROFILES,
): { name: string; profile: Profile } {
  const drawn = rng.pick(Object.keys(profiles))
  const name = pinned ?? drawn
  const profile = profiles[name] ?? (pinned ? PINNED_PROFILES[pinned] : undefined)
  if (!profile) throw new Error(`unknown fault profile ${name}`)
  return { name, profile }
}

/** A random schedule of faults over [from, faultMs) of the world's clock. */
export function scheduleFaults<P extends FaultPeer>(
  cluster: FaultWorld<P>,
  rng: Rng,
  faultMs: number,
  name: string,
  profile: Profile,
  from = 0,
): void {
  const ids = [...cluster.peers.keys()]
  cluster.net = {
    drop: rng.chance(0.5) ? rng.next() * 0.15 : 0,
    duplicate: rng.chance(0.5) ? rng.next() * 0.05 : 0,
    minDelay: 0.5,
    maxDelay: rng.pick(profile.maxDelays ?? [2, 5, 15, 40]),
    replay: profile.replay ?? 0,
    paperHeartbeat: profile.paperHeartbeat ?? 0,
  }
  const persistCrash = profile.persistCrash ?? 0
  if (persistCrash > 0) {
    // A leader dies right after making a write or its commit index durable, before telling anyone.
    cluster.crashAfterPersist = (peer, rd) => {
      if (cluster.now >= faultMs || peer.node?.raft.role !== 'leader') return false
      if (!rd.hardState && rd.entries.length === 0) return false
      if (!rng.chance(persistCrash)) return false
      restartAfterCrash(cluster, peer, rng.int(10, 150))
      return true
    }
  }
  const midWrite = profile.midWriteCrash ?? 0
  if (midWrite > 0 && 'crashBeforePersist' in cluster) {
    // Power lost while a write is in flight: it never becomes durable.
    cluster.crashBeforePersist = (peer, rd) => {
      if (cluster.now >= faultMs || (!rd.hardState && rd.entries.length === 0)) return false
      if (!rng.chance(midWrite)) return false
      restartAfterCrash(cluster, peer, rng.int(5, 100))
      return true
    }
  }
  if ('onOldTermCommit' in cluster) {
    // Raft's Figure 8 made likely: the leader's next appends (the entry of its own term) are
    // held back and it dies once followers have heard the commit; a leader with a newer
    // conflicting entry may then win and overwrite it. Never happens unless a leader commits
    // by counting an earlier term's entry, so it draws nothing from `rng`.
    cluster.onOldTermCommit = (leader) => {
      if (cluster.now >= faultMs) return
      const { tickMs } = cluster.timing
      cluster.trace(`${leader.id} commits an entry of an earlier term; its appends are held back`)
      cluster.delays.push({
        from: leader.id,
        type: MessageType.App,
        until: cluster.now + 400,
        min: 400,
        max: 400,
      })
      // Down for long (whatever else crashed it meanwhile), so that another peer can win.
      cluster.at(cluster.now + 2.5 * tickMs, () => {
        if (cluster.isUp(leader)) cluster.crash(leader)
        cluster.at(cluster.now + 600, () => {
          if (!cluster.isUp(leader)) cluster.start(leader)
        })
      })
    }
  }
  if (name === 'leaderChurn' || name === 'figure8') {
    // Fresh leaders often die within milliseconds, before their first entries spread.
    cluster.onNewLeader = (leader) => {
      if (cluster.now < faultMs && rng.chance(0.5)) {
        const at = cluster.now + rng.next() * 8
        cluster.at(at, () => crashAndRestart(cluster, leader, Math.min(rng.int(10, 150), faultMs - at)))
      }
    }
  }
  const electionMs = cluster.timing.electionTick * cluster.timing.tickMs
  let t = from + rng.int(100, 300)
  while (t < faultMs) {
    const when = t
    const action = pickWeighted(rng, profile.weights)
    const duration = rng.int(50, 600)
    cluster.at(when, () => {
      const down = Math.min(duration, faultMs - when)
      switch (action) {
        case 'partition':
          partition(cluster, rng, ids, duration)
          break
        case 'crash':
          crashAndRestart(cluster, rng.pick([...cluster.peers.values()]), down)
          break
        case 'crashLeader': {
          const leader = cluster.leader()
          if (leader) crashAndRestart(cluster, leader, Math.min(rng.int(5, 120), down))
          break
        }
        case 'membership':
          changeMembership(cluster, rng)
          break
        case 'jointChange':
          changeMembership(cluster, rng, true)
          break
        case 'delayedChange':
          changeMembership(cluster, rng, rng.chance(0.5), electionMs * (0.5 + rng.next()))
          break
        case 'transfer': {
          const moved = transferLeadership(cluster, rng)
          // Leadership often moves because a node is about to lose its network.
          if (moved && name === 'handoffs' && rng.chance(0.5)) {
            cluster.at(cluster.now + rng.next() * 20, () =>
              isolate(cluster, ids, moved.from, rng.int(50, 300)),
            )
          }
          break
        }
        case 'staleTransfer':
          staleTransfer(cluster, rng, ids)
          break
        case 'isolateLeader':
        case 'isolateLeaderEager':
          isolateLeaderWithMinority(
            cluster,
            rng,
            ids,
            Math.max(duration, 2 * electionMs),
            action === 'isolateLeaderEager',
          )
          break
        case 'restartStorm':
          restartStorm(cluster, rng, faultMs)
          break
        case 'campaign':
          manualCampaign(cluster, rng)
          break
        case 'slowApply':
          slowApply(cluster, rng, duration)
          break
        case 'slow':
          slowDown(cluster, rng.pick([...cluster.peers.values()]), rng.int(5, 40), duration)
          break
        case 'stall':
          cluster.stall?.(rng.pick([...cluster.peers.values()]), electionMs * (1 + rng.next() * 4))
          break
        case 'stallLeader': {
          const leader = cluster.leader()
          if (leader) cluster.stall?.(leader, electionMs * (2 + rng.next() * 4))
          break
        }
        case 'slowLink':
          slowLeaderLink(cluster, rng, duration)
          break
        case 'slowRestartStorm':
          slowRestartStorm(cluster, rng, faultMs)
          break
        case 'lateTransfer':
          lateTransfer(cluster, rng, ids)
          break
        case 'campaignInLease':
          campaignInLease(cluster, rng)
          break
        case 'swap':
          swapVoters(cluster, rng, ids, duration)
          break
        case 'swapPreferred':
          swapOutPreferred(cluster, rng)
          break
        case 'slowReadAcks':
          slowReadAcks(cluster, rng, duration)
          break
        case 'quiet':
          break
      }
    })
    t += rng.int(profile.gap[0], profile.gap[1])
  }
}

/** `peer` is about to crash (the world does it at once): it comes back `ms` later. */
function restartAfterCrash<P extends FaultPeer>(world: FaultWorld<P>, peer: P, ms: number): void {
  const gen = peer.gen
  world.at(world.now + ms, () => {
    if (peer.gen === gen + 1 && !world.isUp(peer)) world.start(peer)
  })
}
