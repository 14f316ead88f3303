import type { DriverFaults } from '../peer/driver.js'
import type { Bootstrap, PeerRole } from '../peer/types.js'
import type { RaftFaults } from '../raft/config.js'
import { indexFactory } from '../vector/create-index.js'
import { checkLinearizable } from './linearizability.js'
import { healAll, schedulePeerFaults } from './peer-faults.js'
import { COLLECTION, PeerWorkload } from './peer-workload.js'
import { PeerWorld } from './peer-world.js'
import { Rng } from './rng.js'

export interface PeerSeedOptions {
  trace?: boolean
  faults?: RaftFaults & DriverFaults
  /** Virtual milliseconds of faults before the network heals. */
  faultMs?: number
  /** Pin the group's shape (index into PEER_SHAPES). */
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
  trace: string[]
}

const TICK_MS = 10
const ELECTION_TICKS = 10
/** After faults stop, a data leader must commit a write within this many ms. */
const LIVENESS_MS = 3000

interface Shape {
  name: string
  peers: { id: string; role: PeerRole; priority: number; spare?: boolean }[]
  bootstrap: Bootstrap
}

const data = (id: string, priority = 1) => ({ id, role: 'data' as PeerRole, priority })
const witness = (id: string) => ({ id, role: 'witness' as PeerRole, priority: 0 })

export const PEER_SHAPES: Shape[] = [
  {
    name: '3 voters',
    peers: [data('p1'), data('p2'), data('p3')],
    bootstrap: { voters: ['p1', 'p2', 'p3'] },
  },
  {
    name: '5 voters',
    peers: ['p1', 'p2', 'p3', 'p4', 'p5'].map((id) => data(id)),
    bootstrap: { voters: ['p1', 'p2', 'p3', 'p4', 'p5'] },
  },
  {
    name: '2 data voters + witness',
    peers: [data('p1'), data('p2'), witness('w1')],
    bootstrap: { voters: ['p1', 'p2'], witnesses: ['w1'] },
  },
  {
    name: '3 voters + learner',
    peers: [data('p1'), data('p2'), data('p3'), data('p4')],
    bootstrap: { voters: ['p1', 'p2', 'p3'], learners: ['p4'] },
  },
  {
    name: '4 data voters + witness, priorities',
    peers: [data('p1', 2), data('p2', 2), data('p3'), data('p4'), witness('w1')],
    bootstrap: { voters: ['p1', 'p2', 'p3', 'p4'], witnesses: ['w1'] },
  },
  {
    name: '2 data voters + witness + spare',
    peers: [data('p1'), data('p2'), witness('w1'), { ...data('p3'), spare: true }],
    bootstrap: { voters: ['p1', 'p2'], witnesses: ['w1'] },
  },
]

/** Runs one seed of real peers: random shape, faults and clients; returns every violation found. */
export async function runPeerSeed(seed: number, options: PeerSeedOptions = {}): Promise<PeerSeedResult> {
  // The vector engine loads by real I/O once; loaded first, every later open settles in microtasks.
  await indexFactory()
  const rng = new Rng(seed)
  const shape = PEER_SHAPES[options.shape ?? rng.int(0, PEER_SHAPES.length - 1)]
  const world = new PeerWorld({
    peers: shape.peers,
    bootstrap: shape.bootstrap,
    rng: rng.fork(),
    tickMs: TICK_MS,
    electionTicks: ELECTION_TICKS,
    maxClockDrift: 0.05,
    snapshotEntries: rng.int(8, 60),
    maxSizePerMsg: rng.pick([300, 2000, 64 * 1024]),
    faults: options.faults ?? {},
    trace: options.trace ?? false,
  })
  world.trace(`seed ${seed}: ${shape.name}`)
  const result = (violations: string[], profile: string, operations: number, reads = {}) => ({
    seed,
    shape: `${shape.name}, ${profile}`,
    violations,
    operations,
    reads,
    steps: world.steps,
    trace: world.traceLines,
  })
  try {
    const faultRng = rng.fork()
    const workload = new PeerWorkload(world, rng.fork(), rng.int(3, 6), rng.pick([0, 0.05, 0.2]))
    for (const p of world.peers.values()) world.start(p)
    // The collection every client uses, created through the API before faults begin.
    const setup = await createCollection(world)
    if (!setup) return result(['liveness: no leader created the collection within 3 s'], 'setup', 0)
    const faultMs = options.faultMs ?? 3000
    const start = world.now
    const profile = schedulePeerFaults(world, faultRng, start + faultMs, options.profile)
    world.trace(`fault profile: ${profile}`)
    workload.start()
    await world.run(start + faultMs)
    healAll(world)
    const live = await liveness(world, seed)
    workload.stop()
    // In-flight client operations finish (or give up) before the histories are checked.
    await world.run(world.now + 3000, () => workload.settled)
    const violations = [...world.safety.violations]
    if (!live)
      violations.push(`liveness: no data leader committed a write within ${LIVENESS_MS} ms after faults`)
    const lin = checkLinearizable(workload.history)
    if (!lin.ok)
      violations.push(
        lin.timedOut
          ? `linearizability: search budget exhausted on key ${lin.key}`
          : `linearizability: the history of key ${lin.key} has no linearization`,
      )
    violations.push(...workload.check())
    const operations = workload.history.length + workload.served.length
    return result(violations, profile, operations, { ...workload.reads, lostReplies: workload.lostReplies })
  } catch (err) {
    // A thrown invariant inside Raft or the driver is a violation of this seed, not a crash.
    const e = err as Error
    return result([`exception: ${e.stack ?? e.message}`], 'unknown', 0)
  } finally {
    await world.dispose()
  }
}

async function createCollection(world: PeerWorld): Promise<boolean> {
  let done = false
  const attempt = async () => {
    while (!done && world.now < 3000) {
      const leader = world.leader()
      if (leader?.peer && leader.role === 'data') {
        try {
          await leader.peer.createCollection(
            COLLECTION,
            { dimensions: 2, metric: 'l2sq' },
            { timeoutMs: 500 },
          )
          done = true
          return
        } catch {
          // Lost leadership or timed out: the next leader tries again.
        }
      }
      await new Promise<void>((r) => world.at(world.now + 20, r))
    }
  }
  void attempt()
  await world.run(3000, () => done)
  return done
}

/** With faults over, some data peer must get a write committed through the API. */
async function liveness(world: PeerWorld, seed: number): Promise<boolean> {
  let committed = false
  const deadline = world.now + LIVENESS_MS
  const session = { client: `liveness${seed}`, seq: 1 }
  const attempt = async () => {
    while (!committed && world.now < deadline) {
      const leader = world.leader()
      const p =
        leader?.role === 'data' ? leader : [...world.peers.values()].find((q) => q.peer && q.role === 'data')
      if (p?.peer) {
        try {
          await p.peer
            .collection(COLLECTION)
            .upsert('liveness', [0, 0], { v: 'liveness' }, { session, timeoutMs: 300 })
          committed = true
          return
        } catch {
          // Retried with the same session.
        }
      }
      await new Promise<void>((r) => world.at(world.now + 20, r))
    }
  }
  void attempt()
  await world.run(deadline, () => committed)
  return committed
}
