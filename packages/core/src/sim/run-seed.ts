import type { RaftFaults } from '../raft/config.js'
import { RaftError } from '../raft/errors.js'
import { Cluster } from './cluster.js'
import { checkSettled, watchConfAgreement, watchLeases } from './convergence.js'
import { RAFT_PROFILES, scheduleFaults, shapeAndProfile } from './faults.js'
import { encodeKvWrite } from './kv.js'
import { checkLinearizable } from './linearizability.js'
import { Rng } from './rng.js'
import type { SimStats } from './stats.js'
import { Workload } from './workload.js'

export interface SeedOptions {
  trace?: boolean
  faults?: RaftFaults
  /** Virtual milliseconds of faults before the network heals. */
  faultMs?: number
  /** Pin the group's shape (index into the shapes) instead of drawing it from the seed. */
  shape?: number
  /** Pin the fault profile instead of drawing it from the seed. */
  profile?: string
}

export interface SeedResult {
  seed: number
  shape: string
  violations: string[]
  operations: number
  reads: Record<string, number>
  steps: number
  stats?: SimStats
  trace: string[]
}

const TICK_MS = 10
/** Election timeouts a seed may draw: the lease's drift margin shrinks as they grow. */
const ELECTION_TICKS = [10, 10, 10, 16, 24, 30]
/** After faults stop, a leader must exist and a write must commit within this many ticks. */
const LIVENESS_TICKS = 300

/** Runs one seed: random shape, faults, workload; returns every violation found. */
export function runSeed(seed: number, options: SeedOptions = {}): SeedResult {
  const ctx: { cluster?: Cluster } = {}
  try {
    return runSeedUnchecked(seed, options, ctx)
  } catch (err) {
    // A thrown invariant inside Raft or the driver is a violation of this seed, not a crash.
    const e = err as Error
    return {
      seed,
      shape: 'unknown',
      violations: [`exception: ${e.stack ?? e.message}`],
      operations: 0,
      reads: {},
      steps: ctx.cluster?.steps ?? 0,
      trace: ctx.cluster?.traceLines ?? [],
    }
  }
}

function runSeedUnchecked(seed: number, options: SeedOptions, ctx: { cluster?: Cluster }): SeedResult {
  const rng = new Rng(seed)
  const { shape, name: profile, profile: faultProfile } = shapeAndProfile(rng, options, RAFT_PROFILES)
  const electionTick = rng.pick(faultProfile.electionTicks ?? ELECTION_TICKS)
  const [every0, every1] = faultProfile.snapshotEvery ?? [4, 40]
  const cluster = new Cluster({
    peers: shape.peers,
    initialConf: shape.conf,
    rng: rng.fork(),
    tickMs: TICK_MS,
    electionTick,
    heartbeatTick: 1,
    maxDrift: 0.05,
    extremeDrift: rng.chance(0.5),
    snapshotChunkBytes: rng.pick([128, 512, 4096]),
    snapshotEvery: rng.int(every0, every1),
    maxSizePerMsg: faultProfile.maxSizePerMsg ?? rng.pick([40, 200, 4096]),
    faults: options.faults ?? {},
    trace: options.trace ?? false,
  })
  ctx.cluster = cluster
  watchConfAgreement(cluster)
  watchLeases(cluster)
  cluster.trace(`seed ${seed}: ${shape.name}, electionTick ${electionTick}`)
  const faultRng = rng.fork()
  const workload = new Workload(cluster, rng.fork(), rng.int(3, 6), faultProfile.alignReadsMs)
  const faultMs = options.faultMs ?? 3000
  scheduleFaults(cluster, faultRng, faultMs, profile, faultProfile)
  cluster.trace(`fault profile: ${profile}`)
  workload.start()
  cluster.at(faultMs + 600, () => workload.stop())
  cluster.run(faultMs)
  healEverything(cluster)

  // Liveness: with faults over, a data leader must appear and commit a new write.
  let committed = false
  let proposedAt = -1
  const marker = `liveness.${seed}`
  const livenessTicks = Math.max(LIVENESS_TICKS, 12 * electionTick)
  const deadline = faultMs + livenessTicks * TICK_MS
  const probe = () => {
    if (committed) return
    const leader = cluster.leader()
    if (leader?.node && leader.kind === 'data') {
      if (leader.kv.opIndex(marker) !== undefined) {
        committed = true
        return
      }
      if (proposedAt < 0 || cluster.now - proposedAt > 300) {
        try {
          leader.node.propose(encodeKvWrite({ op: marker, key: 'liveness', value: marker }))
          proposedAt = cluster.now
        } catch (err) {
          if (!(err instanceof RaftError)) throw err
        }
      }
    }
    cluster.at(cluster.now + TICK_MS, probe)
  }
  cluster.at(cluster.now, probe)
  cluster.run(deadline, () => committed)
  // Let in-flight client operations finish (or time out) before checking histories.
  cluster.run(cluster.now + 1600)

  cluster.stats.clashingReads = workload.clashes.count()
  const violations = [...cluster.safety.violations]
  if (!committed)
    violations.push(
      `liveness: no data leader committed a write within ${livenessTicks} ticks after faults stopped`,
    )
  else violations.push(...checkSettled(cluster))
  const lin = checkLinearizable(workload.history)
  if (!lin.ok) {
    violations.push(
      lin.timedOut
        ? `linearizability: search budget exhausted on key ${lin.key}`
        : `linearizability: the history of key ${lin.key} has no linearization`,
    )
  }
  violations.push(...workload.checkStaleReads())
  return {
    seed,
    shape: `${shape.name}, ${profile}, electionTick ${electionTick}`,
    violations,
    operations: workload.history.length + workload.staleReads.length,
    reads: workload.readsByKind,
    steps: cluster.steps,
    stats: cluster.stats,
    trace: cluster.traceLines,
  }
}

function healEverything(cluster: Cluster): void {
  cluster.trace('faults stop: network heals, crashed peers restart')
  cluster.blocked.clear()
  cluster.delays = []
  cluster.net = { drop: 0, duplicate: 0, minDelay: 1, maxDelay: 5 }
  for (const p of cluster.peers.values()) {
    p.slow = 0
    p.applyDelay = 0
    if (!p.node) cluster.start(p)
  }
}
