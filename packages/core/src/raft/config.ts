import { RaftError } from './errors.js'
import type { LogStorage } from './log-storage.js'
import type { PeerId } from './messages.js'

/**
 * Deliberately broken rules, for proving that the simulator's checkers can fail. Never set
 * outside tests.
 */
export interface RaftFaults {
  /** Count a previous-term entry as committed once replicated to a quorum (Raft Figure 8). */
  commitPreviousTerm?: boolean
  /** Grant a second vote in the same term. */
  doubleVote?: boolean
  /** Keep answering lease reads from the last lease after stepping down. */
  leaseAfterStepDown?: boolean
  /** Answer bounded-staleness reads from the local commit index, without a leader's proof. */
  unprovenStaleRead?: boolean
  /** A follower takes the leader's commit index up to its own last entry, not the append's (9a). */
  uncappedFollowerCommit?: boolean
}

export interface RaftConfig {
  id: PeerId
  storage: LogStorage
  /** Uniform in [0, 1): the only randomness Raft uses (election timeouts). */
  random: () => number
  /** Ticks without a leader before an election (randomized in [e, 2e) plus the priority offset). */
  electionTick?: number
  heartbeatTick?: number
  /** Last index the application has applied (on restart). */
  applied?: number
  maxSizePerMsg?: number
  maxInflightMsgs?: number
  /** 0: no byte limit on what is in flight per follower. */
  maxInflightBytes?: number
  maxApplyBytes?: number
  preVote?: boolean
  checkQuorum?: boolean
  /** Election priority of any peer; higher is preferred as leader. Witnesses rank lowest. */
  priority?: (id: PeerId) => number
  /**
   * Bound on clock drift: every peer's tick period is within (1 ± maxClockDrift) of nominal.
   * Leases are sized from it (default 0.05).
   */
  maxClockDrift?: number
  /**
   * Ticks a lease lasts after a quorum acknowledged a heartbeat; 0 turns lease reads off. At most
   * maxLeaseTicks(electionTick, maxClockDrift); by default one tick less.
   */
  leaseTicks?: number
  /** Browser tabs are not: their clocks stall when a tab sleeps. */
  leaseEligible?: boolean
  snapshotChunkBytes?: number
  /** How often a data peer refreshes its bounded-staleness proof; 0 turns the probes off. */
  freshnessProbeTicks?: number
  /** A witness compacts its log once this many applied entries are held by every data voter. */
  witnessCompactEntries?: number
  /**
   * This peer runs as a witness: it holds no data, so it never applies commands or serves reads,
   * whether or not the current membership lists it.
   */
  witness?: boolean
  faults?: RaftFaults
}

export type ResolvedConfig = Required<Omit<RaftConfig, 'applied' | 'faults'>> & {
  applied: number
  faults: RaftFaults
}

export function resolveConfig(c: RaftConfig): ResolvedConfig {
  const electionTick = c.electionTick ?? 10
  const heartbeatTick = c.heartbeatTick ?? 1
  const checkQuorum = c.checkQuorum ?? true
  const maxClockDrift = c.maxClockDrift ?? 0.05
  if (!(maxClockDrift >= 0 && maxClockDrift < 1)) {
    throw new RaftError('ERR_INVALID_CONFIG', 'maxClockDrift must be in [0, 1)')
  }
  const leaseLimit = maxLeaseTicks(electionTick, maxClockDrift)
  const r: ResolvedConfig = {
    id: c.id,
    storage: c.storage,
    random: c.random,
    electionTick,
    heartbeatTick,
    applied: c.applied ?? 0,
    maxSizePerMsg: c.maxSizePerMsg ?? 1024 * 1024,
    maxInflightMsgs: c.maxInflightMsgs ?? 256,
    maxInflightBytes: c.maxInflightBytes ?? 0,
    maxApplyBytes: c.maxApplyBytes ?? 64 * 1024 * 1024,
    preVote: c.preVote ?? true,
    checkQuorum,
    priority: c.priority ?? (() => 1),
    maxClockDrift,
    leaseTicks: c.leaseTicks ?? (checkQuorum ? Math.max(0, leaseLimit - 1) : 0),
    leaseEligible: c.leaseEligible ?? true,
    snapshotChunkBytes: c.snapshotChunkBytes ?? 256 * 1024,
    freshnessProbeTicks: c.freshnessProbeTicks ?? heartbeatTick,
    witnessCompactEntries: c.witnessCompactEntries ?? 64,
    witness: c.witness ?? false,
    faults: c.faults ?? {},
  }
  if (!r.id) throw new RaftError('ERR_INVALID_CONFIG', 'id must be a non-empty peer id')
  if (heartbeatTick <= 0) throw new RaftError('ERR_INVALID_CONFIG', 'heartbeatTick must be positive')
  if (electionTick <= heartbeatTick) {
    throw new RaftError('ERR_INVALID_CONFIG', 'electionTick must be greater than heartbeatTick')
  }
  if (r.maxInflightMsgs <= 0) throw new RaftError('ERR_INVALID_CONFIG', 'maxInflightMsgs must be positive')
  if (r.leaseTicks > 0 && !checkQuorum) {
    throw new RaftError(
      'ERR_INVALID_CONFIG',
      'leaseTicks needs checkQuorum: followers must refuse votes in a lease',
    )
  }
  if (r.leaseTicks > leaseLimit) {
    throw new RaftError(
      'ERR_INVALID_CONFIG',
      `leaseTicks must be at most ${leaseLimit} with electionTick ${electionTick} and maxClockDrift ${maxClockDrift}`,
    )
  }
  return r
}

/**
 * The longest safe lease. A follower refuses votes for electionTick of its own ticks after the
 * heartbeat it acknowledged, which is at least (electionTick - 1) periods of at least (1 - drift);
 * the lease runs leaseTicks periods of at most (1 + drift) from that heartbeat's sending
 * (packages/core/README.md, "Leases").
 */
export function maxLeaseTicks(electionTick: number, maxClockDrift: number): number {
  // The epsilon keeps an exact bound (e.g. 21 · 0.95 / 1.05 = 19) from rounding down.
  return Math.max(0, Math.floor(((electionTick - 1) * (1 - maxClockDrift)) / (1 + maxClockDrift) + 1e-9))
}
