import type { DriverFaults } from '../peer/driver.js'
import type { Bootstrap, Peer, PeerRole } from '../peer/types.js'
import type { RaftFaults } from '../raft/config.js'
import { indexFactory } from '../vector/create-index.js'
import { checkSettled, watchConfAgreement, watchLeases } from './convergence.js'
import { PEER_PROFILES, scheduleFaults, shapeAndProfile } from './faults.js'
import { checkLinearizable } from './linearizability.js'
import { checkReplicasAgree, healWorld, settle } from './peer-settle.js'
import { COLLECTION, PeerWorkload } from './peer-workload.js'
import { PeerWorld } from './peer-world.js'
import { Rng } from './rng.js'
import type { Shape } from './shapes.js'
import type { SimStats } from './stats.js'

export interface PeerSeedOptions {
  trace?: boolean
  faults?: RaftFaults & DriverFaults
  /** Virtual milliseconds of faults before the network heals. */
  faultMs?: number
  /** Pin the group's shape (index into shapes.ts). */
  shape?: number
  /** Pin the fault profile (a key of PEER_PROFILES). */
  profile?: string
}

export interface PeerSeedResult {
  seed: number
  shape: string
  violations: string[]
  operations: number
  reads: Record<string, number>
  steps: number
  stats: SimStats
  trace: string[]
}

const TICK_MS = 10
/** Election timeouts a seed may draw: the lease's drift margin shrinks as they grow. */
const ELECTION_TICKS = [10, 10, 10, 16, 24, 30]
/** After faults stop, a data leader must commit a write within this many ms (or 12 elections). */
const LIVENESS_MS = 3000

/** The founding members of a shared shape, as openPeer's bootstrap names them. */
function peersOf(shape: Shape): {
  peers: { id: string; role: PeerRole; priority: number; spare: boolean }[]
  bootstrap: Bootstrap
} {
  const { voters, learners, witnesses } = shape.conf
  const peers = shape.peers.map((p) => ({
    id: p.id,
    role: p.kind,
    priority: p.priority,
    spare: !voters.includes(p.id) && !learners.includes(p.id),
  }))
  return { peers, bootstrap: { voters: voters.filter((id) => !witnesses.includes(id)), witnesses, learners } }
}

/** Runs one seed of real peers: random shape, faults and clients; returns every violation found. */
export async function runPeerSeed(seed: number, options: PeerSeedOptions = {}): Promise<PeerSeedResult> {
  // The vector engine loads by real I/O once; loaded first, every later open settles in microtasks.
  await indexFactory()
  const rng = new Rng(seed)
  const { shape, name: profile, profile: faultProfile } = shapeAndProfile(rng, options, PEER_PROFILES)
  const electionTicks = rng.pick(faultProfile.electionTicks ?? ELECTION_TICKS)
  const [every0, every1] = faultProfile.snapshotEvery ?? [8, 60]
  const world = new PeerWorld({
    ...peersOf(shape),
    rng: rng.fork(),
    tickMs: TICK_MS,
    electionTicks,
    maxClockDrift: 0.05,
    snapshotEntries: rng.int(every0, every1),
    // Small chunks: the real state machine's snapshots (a few KiB) span many.
    snapshotChunkBytes: rng.pick([256, 1024, 64 * 1024]),
    maxSizePerMsg: faultProfile.maxSizePerMsg ?? rng.pick([300, 2000, 64 * 1024]),
    faults: options.faults ?? {},
    trace: options.trace ?? false,
  })
  watchConfAgreement(world)
  watchLeases(world)
  const name = `${shape.name}, ${profile}, electionTick ${electionTicks}`
  world.trace(`seed ${seed}: ${name}`)
  const result = (violations: string[], operations: number, reads = {}) => ({
    seed,
    shape: name,
    violations,
    operations,
    reads,
    steps: world.steps,
    stats: world.stats,
    trace: world.traceLines,
  })
  try {
    const faultRng = rng.fork()
    const workload = new PeerWorkload(world, rng.fork(), rng.int(3, 6), rng.pick([0, 0.05, 0.2]))
    for (const p of world.peers.values()) world.start(p)
    // The collection every client uses, created through the API before faults begin.
    const setup = await createCollection(world)
    if (!setup) {
      const safety = world.safety.violations
      return result(
        safety.length > 0 ? [...safety] : ['liveness: no leader created the collection within 3 s'],
        0,
      )
    }
    const faultMs = options.faultMs ?? 3000
    const start = world.now
    scheduleFaults(world, faultRng, start + faultMs, profile, faultProfile, start)
    world.trace(`fault profile: ${profile}`)
    workload.start()
    await world.run(start + faultMs)
    const violations: string[] = []
    // Once safety is broken the world stops (see PeerWorld.run): liveness means nothing then.
    if (world.safety.violations.length === 0) {
      healWorld(world)
      const livenessMs = Math.max(LIVENESS_MS, 12 * electionTicks * TICK_MS)
      const live = await liveness(world, seed, livenessMs)
      workload.stop()
      // In-flight client operations finish (or give up) before the histories are checked.
      await world.run(world.now + 3000, () => workload.settled)
      const safe = world.safety.violations.length === 0
      if (safe && !live)
        violations.push(`liveness: no data leader committed a write within ${livenessMs} ms after faults`)
      if (safe && live) {
        // Every member catches up, no follower is left in snapshot state, and replicas agree.
        await settle(world, 3000)
        violations.push(...checkSettled(world), ...checkReplicasAgree(world))
      }
    }
    violations.unshift(...world.safety.violations)
    const lin = checkLinearizable(workload.history)
    if (!lin.ok)
      violations.push(
        lin.timedOut
          ? `linearizability: search budget exhausted on key ${lin.key}`
          : `linearizability: the history of key ${lin.key} has no linearization`,
      )
    violations.push(...workload.check())
    const operations = workload.history.length + workload.served.length
    return result(violations, operations, { ...workload.reads, lostReplies: workload.lostReplies })
  } catch (err) {
    // A thrown invariant inside Raft or the driver is a violation of this seed, not a crash.
    const e = err as Error
    return result([`exception: ${e.stack ?? e.message}`], 0)
  } finally {
    await world.dispose()
  }
}

function createCollection(world: PeerWorld): Promise<boolean> {
  const create = (peer: Peer) =>
    peer.createCollection(COLLECTION, { dimensions: 2, metric: 'l2sq' }, { timeoutMs: 500 })
  return retryUntil(world, 3000, false, 600, create)
}

/** With faults over, some data peer must get a write committed through the API. */
function liveness(world: PeerWorld, seed: number, ms: number): Promise<boolean> {
  const session = { client: `liveness${seed}`, seq: 1 }
  const write = (peer: Peer) =>
    peer.collection(COLLECTION).upsert('liveness', [0, 0], { v: 'liveness' }, { session, timeoutMs: 300 })
  return retryUntil(world, world.now + ms, true, 400, write)
}

/**
 * Tries `op` at the data leader (or, with `anyData`, any data peer when there is none) until it
 * succeeds or `deadline` passes. A peer that crashes never answers: each try gives up after `tryMs`.
 */
async function retryUntil(
  world: PeerWorld,
  deadline: number,
  anyData: boolean,
  tryMs: number,
  op: (peer: Peer) => Promise<unknown>,
): Promise<boolean> {
  let done = false
  const attempt = async () => {
    while (!done && world.now < deadline) {
      const leader = world.leader()
      const p =
        leader?.role === 'data' || !anyData
          ? leader
          : [...world.peers.values()].find((q) => q.peer && q.role === 'data')
      if (p?.peer && p.role === 'data') {
        const gaveUp = new Promise<'gave up'>((r) => world.at(world.now + tryMs, () => r('gave up')))
        try {
          if ((await Promise.race([op(p.peer), gaveUp])) !== 'gave up') {
            done = true
            return
          }
        } catch {
          // Lost leadership or timed out: tried again (a write with the same session).
        }
      }
      await new Promise<void>((r) => world.at(world.now + 20, r))
    }
  }
  void attempt()
  await world.run(deadline, () => done)
  return done
}
