import { crashAndRestart } from './fault-actions.js'
import type { FaultPeer, FaultWorld } from './fault-world.js'
import type { Rng } from './rng.js'

// Faults built on one slow link (a congested one-way path) rather than a slow peer: late
// freshness proofs, late replies to a restarted follower, late transfer votes, and manual
// campaigns while the leader loses a single follower.

const electionMs = <P extends FaultPeer>(w: FaultWorld<P>) => w.timing.electionTick * w.timing.tickMs

/** Everything `from` sends `to` (of a term above `aboveTerm`, if given) is `ms` late for `duration`. */
export function slowLink<P extends FaultPeer>(
  cluster: FaultWorld<P>,
  from: string,
  to: string,
  ms: number,
  duration: number,
  aboveTerm?: number,
): void {
  cluster.delays.push({ from, to, aboveTerm, until: cluster.now + duration, min: ms, max: ms })
  cluster.trace(`link ${from}>${to} slow (+${ms.toFixed(0)} ms) for ${duration} ms`)
}

function dataFollowers<P extends FaultPeer>(cluster: FaultWorld<P>, leader: P): P[] {
  return [...cluster.peers.values()].filter((p) => p !== leader && p.kind === 'data' && p.node)
}

/**
 * The leader's link to one data follower turns slow: the follower's log and its freshness proofs
 * arrive late, so a proof must be dated when its probe left, not when it arrived.
 */
export function slowLeaderLink<P extends FaultPeer>(
  cluster: FaultWorld<P>,
  rng: Rng,
  duration: number,
): void {
  const leader = cluster.leader()
  if (!leader) return
  const followers = dataFollowers(cluster, leader)
  if (followers.length === 0) return
  slowLink(
    cluster,
    leader.id,
    rng.pick(followers).id,
    electionMs(cluster) * (0.3 + rng.next() * 1.2),
    duration,
  )
}

/**
 * A data follower restarts two to four times while everything the leader sends it is late by a
 * fixed amount: replies to one run's probes reach the next run, in order.
 */
export function slowRestartStorm<P extends FaultPeer>(
  cluster: FaultWorld<P>,
  rng: Rng,
  faultMs: number,
): void {
  const leader = cluster.leader()
  if (!leader) return
  const followers = dataFollowers(cluster, leader)
  if (followers.length === 0) return
  const peer = rng.pick(followers)
  slowLink(cluster, leader.id, peer.id, rng.int(20, 120), rng.int(200, 600))
  cluster.trace(`restart storm at ${peer.id}`)
  let at = cluster.now
  for (let i = rng.int(2, 4); i > 0; i--) {
    at += rng.int(15, 90)
    if (at >= faultMs) break
    cluster.at(at, () => crashAndRestart(cluster, peer, rng.int(1, 15)))
  }
}

/**
 * The leader hands over to a data voter whose messages of the new term are late by a little more
 * than an election timeout (to the leader, three times that): its votes arrive after the leader
 * gave the transfer up and renewed its lease, yet within its own candidacy. Half the time the old
 * leader then hears no one for a while.
 */
export function lateTransfer<P extends FaultPeer>(cluster: FaultWorld<P>, rng: Rng, ids: string[]): void {
  const leader = cluster.leader()
  const conf = leader?.node?.raft.conf
  if (!leader || !conf) return
  const targets = conf.voters.filter((id) => id !== leader.id && !conf.witnesses.includes(id))
  if (targets.length === 0) return
  const to = rng.pick(targets)
  const late = electionMs(cluster) * (1.15 + rng.next() * 0.3)
  const term = leader.node!.raft.term
  for (const other of ids)
    if (other !== to) slowLink(cluster, to, other, other === leader.id ? late * 3 : late, late * 2, term)
  cluster.trace(`late transfer ${leader.id} -> ${to}`)
  cluster.transferLeadership(leader, to)
  if (rng.chance(0.5)) return
  const deafAt = cluster.now + late * (0.8 + rng.next() * 0.3)
  const links = ids.filter((o) => o !== leader.id).map((o) => `${o}>${leader.id}`)
  cluster.at(deafAt, () => {
    cluster.trace(`${leader.id} hears no one for a while`)
    for (const l of links) cluster.blocked.add(l)
    cluster.at(cluster.now + rng.int(50, 400), () => {
      for (const l of links) cluster.blocked.delete(l)
    })
  })
}

/**
 * Followers campaign by hand. Half the time the leader first loses its link to one follower g:
 * once g's lease has run out it votes for anyone, and a follower still in touch with the leader
 * (whose acknowledgements keep that lease) campaigns an election timeout later.
 */
export function campaignInLease<P extends FaultPeer>(cluster: FaultWorld<P>, rng: Rng): void {
  const leader = cluster.leader()
  const followers = [...cluster.peers.values()].filter((p) => p !== leader && p.node)
  const campaign = (p: P) => {
    if (!p.node) return
    cluster.trace(`${p.id} campaigns by hand`)
    cluster.campaign(p)
  }
  if (!leader || followers.length < 2 || rng.chance(0.5)) {
    for (let n = rng.int(1, 2); n > 0 && followers.length > 0; n--)
      campaign(followers.splice(rng.int(0, followers.length - 1), 1)[0])
    return
  }
  const g = followers.splice(rng.int(0, followers.length - 1), 1)[0]
  const f = rng.pick(followers)
  const links = [`${leader.id}>${g.id}`, `${g.id}>${leader.id}`]
  const cutMs = electionMs(cluster) * (2 + rng.next() * 2)
  cluster.trace(`link ${leader.id}-${g.id} cut for ${cutMs.toFixed(0)} ms; ${f.id} will campaign`)
  for (const l of links) cluster.blocked.add(l)
  cluster.at(cluster.now + cutMs, () => {
    for (const l of links) cluster.blocked.delete(l)
  })
  const gen = f.gen
  cluster.at(cluster.now + electionMs(cluster) * (1.1 + rng.next()), () => {
    if (f.gen === gen) campaign(f)
  })
}
