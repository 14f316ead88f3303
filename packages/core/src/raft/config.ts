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
  /** Ticks a lease lasts after a quorum acknowledged a heartbeat; 0 turns lease reads off. */
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
    leaseTicks: c.leaseTicks ?? (checkQuorum ? Math.max(0, electionTick - 3) : 0),
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
  // Followers refuse votes for electionTick of their own ticks; the margin absorbs clock drift
  // and tick granularity (packages/core/README.md, "Leases").
  if (r.leaseTicks > electionTick - 2) {
    throw new RaftError(
      'ERR_INVALID_CONFIG',
      `leaseTicks must be at most electionTick - 2 (${electionTick - 2})`,
    )
  }
  return r
}
