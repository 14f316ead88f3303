import { allVoters, type ConfChangeItem, isJoint } from '../raft/confchange.js'
import type { FaultPeer, FaultWorld } from './fault-world.js'
import type { Rng } from './rng.js'

// Faults the schedule (faults.ts) draws from. Each acts on a world through FaultWorld (links,
// delays, crash/start, the leader's API), so both drivers share them.

export function partition<P extends FaultPeer>(
  cluster: FaultWorld<P>,
  rng: Rng,
  ids: string[],
  duration: number,
): void {
  const side = new Set(ids.filter(() => rng.chance(0.4)))
  if (side.size === 0 || side.size === ids.length) return
  cut(cluster, side, ids, rng.chance(0.3), duration)
}

/** Blocks links from `side` to the rest (and back, unless one-way) for `duration` ms. */
export function cut<P extends FaultPeer>(
  cluster: FaultWorld<P>,
  side: Set<string>,
  ids: string[],
  oneWay: boolean,
  duration: number,
): void {
  const added: string[] = []
  for (const a of side) {
    for (const b of ids) {
      if (side.has(b)) continue
      added.push(`${a}>${b}`)
      if (!oneWay) added.push(`${b}>${a}`)
    }
  }
  for (const link of added) cluster.blocked.add(link)
  cluster.trace(`partition ${oneWay ? 'one-way from' : 'of'} {${[...side].join(',')}} for ${duration} ms`)
  cluster.at(cluster.now + duration, () => {
    for (const link of added) cluster.blocked.delete(link)
    cluster.trace(`partition of {${[...side].join(',')}} heals`)
  })
}

/**
 * The leader and a minority of the voters lose the rest, while clients keep reading from it
 * (its lease must end before the majority elects a leader that commits). With `eager`, the
 * majority campaigns by hand as soon as Raft lets it.
 */
export function isolateLeaderWithMinority<P extends FaultPeer>(
  cluster: FaultWorld<P>,
  rng: Rng,
  ids: string[],
  duration: number,
  eager = false,
): void {
  const leader = cluster.leader()
  if (!leader?.node) return
  const voters = allVoters(leader.node.raft.conf).filter((id) => id !== leader.id)
  // A minority of the voters, the leader included: at most floor((n - 1) / 2) of n.
  const minority = Math.floor(voters.length / 2)
  const side = new Set([leader.id])
  for (const id of voters) if (side.size < minority && rng.chance(0.7)) side.add(id)
  // Clocks at the drift bound the worst way round: the leader's slow, everyone else's fast.
  const { maxDrift } = cluster.timing
  for (const p of cluster.peers.values()) cluster.setDrift(p, p === leader ? maxDrift : -maxDrift)
  cluster.trace(`leader ${leader.id} isolated with a minority`)
  cut(cluster, side, ids, false, duration)
  // One impatient peer: several would split the vote.
  if (eager) campaignWhenAllowed(cluster, rng.pick(voters.filter((id) => !side.has(id))), duration)
}

/**
 * An impatient operator: for `ms`, peer `id` campaigns by hand every millisecond while a
 * follower (every 3 ms while a pre-candidate, so its pre-vote can complete). Raft refuses until
 * its vote refusal (the old leader's lease) has run out, so the majority elects a leader at the
 * earliest moment its clocks allow.
 */
function campaignWhenAllowed<P extends FaultPeer>(
  cluster: FaultWorld<P>,
  id: string | undefined,
  ms: number,
): void {
  const p = id === undefined ? undefined : cluster.peers.get(id)
  if (!p) return
  const until = cluster.now + ms
  let last = Number.NEGATIVE_INFINITY
  const poll = () => {
    const role = p.node?.raft.role
    if (role === 'follower' || (role === 'precandidate' && cluster.now - last >= 3)) {
      last = cluster.now
      cluster.campaign(p)
    }
    if (cluster.now < until) cluster.at(cluster.now + 1, poll)
  }
  poll()
}

/** An operator starts elections by hand at one or two followers, inside the leader's lease. */
export function manualCampaign<P extends FaultPeer>(cluster: FaultWorld<P>, rng: Rng): void {
  const leader = cluster.leader()
  const peers = [...cluster.peers.values()].filter((p) => p.node && p !== leader)
  for (let n = rng.int(1, 2); n > 0 && peers.length > 0; n--) {
    const peer = peers.splice(Math.floor(rng.next() * peers.length), 1)[0]
    cluster.trace(`${peer.id} campaigns by hand`)
    cluster.campaign(peer)
  }
}

/** A follower's driver is busy applying: Readies take long, messages keep arriving. */
export function slowApply<P extends FaultPeer>(cluster: FaultWorld<P>, rng: Rng, duration: number): void {
  const leader = cluster.leader()
  const peers = [...cluster.peers.values()].filter((p) => p.node && p !== leader)
  if (peers.length === 0) return
  const peer = rng.pick(peers)
  const ms = rng.int(5, 60)
  cluster.setApplyDelay(peer, ms)
  cluster.trace(`${peer.id} applies slowly (+${ms} ms) for ${duration} ms`)
  cluster.at(cluster.now + duration, () => cluster.setApplyDelay(peer, 0))
}

export function isolate<P extends FaultPeer>(
  cluster: FaultWorld<P>,
  ids: string[],
  id: string,
  duration: number,
): void {
  cut(cluster, new Set([id]), ids, false, duration)
}

export function crashAndRestart<P extends FaultPeer>(cluster: FaultWorld<P>, peer: P, downMs: number): void {
  if (!cluster.isUp(peer)) return
  cluster.crash(peer)
  cluster.at(cluster.now + Math.max(1, downMs), () => {
    if (!cluster.isUp(peer)) cluster.start(peer)
  })
}

/**
 * A follower restarts several times in quick succession while messages to it are slow: replies
 * to one run's requests (freshness probes) arrive in the next run.
 */
export function restartStorm<P extends FaultPeer>(cluster: FaultWorld<P>, rng: Rng, faultMs: number): void {
  const leader = cluster.leader()
  const peers = [...cluster.peers.values()].filter((p) => p.node && p !== leader && p.kind === 'data')
  if (peers.length === 0) return
  const peer = rng.pick(peers)
  const slowFor = rng.int(200, 600)
  cluster.delays.push({ to: peer.id, until: cluster.now + slowFor, min: 20, max: rng.pick([60, 120]) })
  cluster.trace(`restart storm at ${peer.id}; messages to it are slow for ${slowFor} ms`)
  let at = cluster.now
  for (let i = rng.int(2, 4); i > 0; i--) {
    at += rng.int(15, 90)
    if (at >= faultMs) break
    cluster.at(at, () => crashAndRestart(cluster, peer, rng.int(1, 15)))
  }
}

export function slowDown<P extends FaultPeer>(
  cluster: FaultWorld<P>,
  peer: P,
  ms: number,
  duration: number,
): void {
  cluster.setSlow(peer, ms)
  cluster.trace(`${peer.id} is slow (+${ms} ms) for ${duration} ms`)
  cluster.at(cluster.now + duration, () => cluster.setSlow(peer, 0))
}

/** Asks the leader to hand over to a random voter; returns the old leader and the target. */
export function transferLeadership<P extends FaultPeer>(
  cluster: FaultWorld<P>,
  rng: Rng,
): { from: string; to: string } | undefined {
  const leader = cluster.leader()
  if (!leader?.node) return undefined
  const target = rng.pick(leader.node.raft.conf.voters)
  cluster.trace(`transfer leadership ${leader.id} -> ${target}`)
  cluster.transferLeadership(leader, target)
  return { from: leader.id, to: target }
}

/**
 * A transfer whose campaign votes arrive late, after the leader gave the transfer up and renewed
 * its lease; then the old leader stops hearing the group while clients still read from it.
 */
export function staleTransfer<P extends FaultPeer>(cluster: FaultWorld<P>, rng: Rng, ids: string[]): void {
  const moved = transferLeadership(cluster, rng)
  if (!moved || moved.from === moved.to) return
  const { tickMs, electionTick } = cluster.timing
  const late = electionTick * tickMs * (1 + rng.next() * 1.5)
  // Everything the transferee sends is late: its votes, and the replies that would tell the
  // leader about its new term.
  cluster.delays.push({ from: moved.to, until: cluster.now + late, min: late, max: late * 1.1 })
  const deafAt = cluster.now + late * (0.8 + rng.next() * 0.3)
  cluster.at(deafAt, () => {
    const links = ids.filter((o) => o !== moved.from).map((o) => `${o}>${moved.from}`)
    for (const l of links) cluster.blocked.add(l)
    cluster.trace(`${moved.from} hears no one for a while`)
    cluster.at(cluster.now + rng.int(50, 400), () => {
      for (const l of links) cluster.blocked.delete(l)
    })
  })
}

/**
 * Adds, promotes or removes members, keeping each peer in its kind (data or witness). With
 * `multi`, up to three members change in one joint configuration. With `delayMs`, messages from
 * the members that change are slow for a while (late votes and replies around the change).
 */
export function changeMembership<P extends FaultPeer>(
  cluster: FaultWorld<P>,
  rng: Rng,
  multi = false,
  delayMs = 0,
): void {
  const leader = cluster.leader()
  if (!leader?.node) return
  const conf = leader.node.raft.conf
  if (isJoint(conf)) return
  const voters = allVoters(conf)
  const options: ConfChangeItem[] = []
  for (const p of cluster.peers.values()) {
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
  const changes: ConfChangeItem[] = []
  for (let n = multi ? rng.int(2, 3) : 1; n > 0 && options.length > 0; n--) {
    const change = options.splice(Math.floor(rng.next() * options.length), 1)[0]
    if (!changes.some((c) => c.id === change.id)) changes.push(change)
  }
  if (!cluster.proposeConfChange(leader, changes)) return
  cluster.trace(`conf change at ${leader.id}: ${changes.map((c) => `${c.type} ${c.id}`).join(', ')}`)
  if (delayMs > 0) {
    for (const c of changes)
      cluster.delays.push({ from: c.id, until: cluster.now + delayMs, min: delayMs / 4, max: delayMs })
  }
}
