import { allVoters, type ConfChangeItem, isJoint } from '../raft/confchange.js'
import type { RaftFaults } from '../raft/config.js'
import { RaftError } from '../raft/errors.js'
import type { ConfState } from '../raft/messages.js'
import { Cluster, type PeerKind, type SimPeer } from './cluster.js'
import { encodeKvWrite } from './kv.js'
import { checkLinearizable } from './linearizability.js'
import { Rng } from './rng.js'
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
  trace: string[]
}

const TICK_MS = 10
const ELECTION_TICK = 10
/** After faults stop, a leader must exist and a write must commit within this many ticks. */
const LIVENESS_TICKS = 300

interface Shape {
  name: string
  peers: { id: string; kind: PeerKind; priority: number }[]
  conf: ConfState
}

function shapeFor(rng: Rng, pinned?: number): Shape {
  const conf = (voters: string[], learners: string[] = [], witnesses: string[] = []): ConfState => ({
    voters,
    outgoing: [],
    learners,
    learnersNext: [],
    witnesses,
    autoLeave: false,
  })
  const data = (id: string, priority = 1) => ({ id, kind: 'data' as PeerKind, priority })
  const witness = (id: string) => ({ id, kind: 'witness' as PeerKind, priority: 0 })
  const drawn = rng.int(0, 5)
  switch (pinned ?? drawn) {
    case 0:
      return {
        name: '3 voters',
        peers: [data('p1'), data('p2'), data('p3'), data('p4')],
        conf: conf(['p1', 'p2', 'p3']),
      }
    case 1:
      return {
        name: '5 voters',
        peers: [data('p1'), data('p2'), data('p3'), data('p4'), data('p5')],
        conf: conf(['p1', 'p2', 'p3', 'p4', 'p5']),
      }
    case 2:
      return {
        name: '2 data voters + witness',
        peers: [data('p1'), data('p2'), witness('w1')],
        conf: conf(['p1', 'p2', 'w1'], [], ['w1']),
      }
    case 3:
      return {
        name: '3 voters + learner',
        peers: [data('p1'), data('p2'), data('p3'), data('p4')],
        conf: conf(['p1', 'p2', 'p3'], ['p4']),
      }
    case 4:
      return {
        name: '4 data voters + witness, priorities',
        peers: [data('p1', 2), data('p2', 2), data('p3', 1), data('p4', 1), witness('w1')],
        conf: conf(['p1', 'p2', 'p3', 'p4', 'w1'], [], ['w1']),
      }
    default:
      return {
        name: '2 data voters + witness + spare',
        peers: [data('p1'), data('p2'), witness('w1'), data('p3')],
        conf: conf(['p1', 'p2', 'w1'], [], ['w1']),
      }
  }
}

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
  const shape = shapeFor(rng, options.shape)
  const cluster = new Cluster({
    peers: shape.peers,
    initialConf: shape.conf,
    rng: rng.fork(),
    tickMs: TICK_MS,
    electionTick: ELECTION_TICK,
    heartbeatTick: 1,
    maxDrift: 0.05,
    snapshotEvery: rng.int(4, 40),
    maxSizePerMsg: rng.pick([40, 200, 4096]),
    faults: options.faults ?? {},
    trace: options.trace ?? false,
  })
  ctx.cluster = cluster
  cluster.trace(`seed ${seed}: ${shape.name}`)
  const faultRng = rng.fork()
  const workload = new Workload(cluster, rng.fork(), rng.int(3, 6))
  const faultMs = options.faultMs ?? 3000
  const profile = scheduleFaults(cluster, faultRng, faultMs, options.profile)
  cluster.trace(`fault profile: ${profile}`)
  workload.start()
  cluster.at(faultMs + 600, () => workload.stop())
  cluster.run(faultMs)
  healEverything(cluster)

  // Liveness: with faults over, a data leader must appear and commit a new write.
  let committed = false
  let proposedAt = -1
  const marker = `liveness.${seed}`
  const deadline = faultMs + LIVENESS_TICKS * TICK_MS
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

  const violations = [...cluster.safety.violations]
  if (!committed)
    violations.push(
      `liveness: no data leader committed a write within ${LIVENESS_TICKS} ticks after faults stopped`,
    )
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
    shape: `${shape.name}, ${profile}`,
    violations,
    operations: workload.history.length + workload.staleReads.length,
    reads: workload.readsByKind,
    steps: cluster.steps,
    trace: cluster.traceLines,
  }
}

function healEverything(cluster: Cluster): void {
  cluster.trace('faults stop: network heals, crashed peers restart')
  cluster.blocked.clear()
  cluster.net = { drop: 0, duplicate: 0, minDelay: 1, maxDelay: 5 }
  for (const p of cluster.peers.values()) {
    p.slow = 0
    if (!p.node) cluster.start(p)
  }
}

type FaultAction = 'partition' | 'crash' | 'crashLeader' | 'membership' | 'transfer' | 'slow' | 'quiet'

/** Fault profiles: each seed draws one, so that rare interleavings get a fair share of seeds. */
const PROFILES: Record<string, { weights: Partial<Record<FaultAction, number>>; gap: [number, number] }> = {
  mixed: {
    weights: { partition: 3, crash: 1, crashLeader: 1, membership: 1, transfer: 1, slow: 1, quiet: 1 },
    gap: [40, 400],
  },
  // Leaders crash and come back quickly: the situations of Raft's Figure 8.
  leaderChurn: { weights: { crashLeader: 5, partition: 2, crash: 1, quiet: 1 }, gap: [20, 150] },
  // Leadership moves often: leases must end with it.
  handoffs: { weights: { transfer: 5, partition: 1, slow: 1, quiet: 1 }, gap: [30, 200] },
  // Leaders often die between making a write durable and sending it (see crashAfterPersist).
  persistCrash: { weights: { crashLeader: 1, partition: 1, quiet: 3 }, gap: [50, 300] },
}

/** Chance that a leader crashes between persisting a Ready and sending it, per profile. */
const PERSIST_CRASH: Record<string, number> = { leaderChurn: 0.15, persistCrash: 0.35 }

function pickWeighted<T extends string>(rng: Rng, weights: Partial<Record<T, number>>): T {
  const entries = Object.entries(weights) as [T, number][]
  let r = rng.next() * entries.reduce((n, [, w]) => n + w, 0)
  for (const [k, w] of entries) {
    r -= w
    if (r < 0) return k
  }
  return entries[entries.length - 1][0]
}

/** A random schedule of faults over [0, faultMs). */
function scheduleFaults(cluster: Cluster, rng: Rng, faultMs: number, pinned?: string): string {
  const ids = [...cluster.peers.keys()]
  const drawn = rng.pick(Object.keys(PROFILES))
  const profileName = pinned ?? drawn
  if (!PROFILES[profileName]) throw new Error(`unknown fault profile ${profileName}`)
  const profile = PROFILES[profileName]
  cluster.net = {
    drop: rng.chance(0.5) ? rng.next() * 0.15 : 0,
    duplicate: rng.chance(0.5) ? rng.next() * 0.05 : 0,
    minDelay: 0.5,
    maxDelay: rng.pick([2, 5, 15, 40]),
  }
  const persistCrash = PERSIST_CRASH[profileName] ?? 0
  if (persistCrash > 0) {
    // A leader dies right after making a write or its commit index durable, before telling anyone.
    cluster.crashAfterPersist = (peer, rd) => {
      if (cluster.now >= faultMs || peer.node?.raft.role !== 'leader') return false
      if (!rd.hardState && rd.entries.length === 0) return false
      if (!rng.chance(persistCrash)) return false
      const gen = peer.gen
      cluster.at(cluster.now + rng.int(10, 150), () => {
        if (peer.gen === gen + 1 && !peer.node) cluster.start(peer)
      })
      return true
    }
  }
  if (profileName === 'leaderChurn') {
    // Fresh leaders often die within milliseconds, before their first entries spread.
    cluster.onNewLeader = (leader) => {
      if (cluster.now < faultMs && rng.chance(0.5)) {
        const at = cluster.now + rng.next() * 8
        cluster.at(at, () => crashAndRestart(cluster, leader, Math.min(rng.int(10, 150), faultMs - at)))
      }
    }
  }
  let t = rng.int(100, 300)
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
        case 'transfer': {
          const from = transferLeadership(cluster, rng)
          // Leadership often moves because a node is about to lose its network.
          if (from && profileName === 'handoffs' && rng.chance(0.5)) {
            cluster.at(cluster.now + rng.next() * 20, () => isolate(cluster, ids, from, rng.int(50, 300)))
          }
          break
        }
        case 'slow':
          slowDown(cluster, rng.pick([...cluster.peers.values()]), rng.int(5, 40), duration)
          break
        case 'quiet':
          break
      }
    })
    t += rng.int(profile.gap[0], profile.gap[1])
  }
  return profileName
}

function partition(cluster: Cluster, rng: Rng, ids: string[], duration: number): void {
  const side = new Set(ids.filter(() => rng.chance(0.4)))
  if (side.size === 0 || side.size === ids.length) return
  const asymmetric = rng.chance(0.3)
  const added: string[] = []
  for (const a of side) {
    for (const b of ids) {
      if (side.has(b)) continue
      added.push(`${a}>${b}`)
      if (!asymmetric) added.push(`${b}>${a}`)
    }
  }
  for (const link of added) cluster.blocked.add(link)
  cluster.trace(`partition ${asymmetric ? 'one-way from' : 'of'} {${[...side].join(',')}} for ${duration} ms`)
  cluster.at(cluster.now + duration, () => {
    for (const link of added) cluster.blocked.delete(link)
    cluster.trace(`partition of {${[...side].join(',')}} heals`)
  })
}

function crashAndRestart(cluster: Cluster, peer: SimPeer, downMs: number): void {
  if (!peer.node) return
  cluster.crash(peer)
  cluster.at(cluster.now + Math.max(1, downMs), () => {
    if (!peer.node) cluster.start(peer)
  })
}

function slowDown(cluster: Cluster, peer: SimPeer, ms: number, duration: number): void {
  peer.slow = ms
  cluster.trace(`${peer.id} is slow (+${ms} ms) for ${duration} ms`)
  cluster.at(cluster.now + duration, () => {
    peer.slow = 0
  })
}

/** Asks the leader to hand over to a random voter; returns the old leader's id. */
function transferLeadership(cluster: Cluster, rng: Rng): string | undefined {
  const leader = cluster.leader()
  if (!leader?.node) return undefined
  const target = rng.pick(leader.node.raft.conf.voters)
  cluster.trace(`transfer leadership ${leader.id} -> ${target}`)
  leader.node.transferLeadership(target)
  return leader.id
}

function isolate(cluster: Cluster, ids: string[], id: string, duration: number): void {
  const links = ids.filter((o) => o !== id).flatMap((o) => [`${id}>${o}`, `${o}>${id}`])
  for (const l of links) cluster.blocked.add(l)
  cluster.trace(`${id} is isolated for ${duration} ms`)
  cluster.at(cluster.now + duration, () => {
    for (const l of links) cluster.blocked.delete(l)
  })
}

/** Adds, promotes or removes a member, keeping each peer in its kind (data or witness). */
function changeMembership(cluster: Cluster, rng: Rng): void {
  const leader = cluster.leader()
  if (!leader?.node) return
  const conf = leader.node.raft.conf
  if (isJoint(conf)) return
  const voters = allVoters(conf)
  const peers = [...cluster.peers.values()]
  const options: ConfChangeItem[] = []
  for (const p of peers) {
    const isVoter = voters.includes(p.id)
    const isLearner = conf.learners.includes(p.id)
    if (p.kind === 'witness') {
      options.push(isVoter ? { type: 'remove', id: p.id } : { type: 'witness', id: p.id })
      continue
    }
    if (isVoter) {
      if (voters.length > 2) options.push({ type: 'remove', id: p.id })
      options.push({ type: 'learner', id: p.id })
    } else if (isLearner) {
      options.push({ type: 'voter', id: p.id }, { type: 'remove', id: p.id })
    } else {
      options.push({ type: 'learner', id: p.id }, { type: 'voter', id: p.id })
    }
  }
  if (options.length === 0) return
  const change = rng.pick(options)
  try {
    leader.node.proposeConfChange({ changes: [change] })
    cluster.trace(`conf change at ${leader.id}: ${change.type} ${change.id}`)
  } catch (err) {
    if (!(err instanceof RaftError)) throw err
  }
}
