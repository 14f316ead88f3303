import { allMembers } from '../raft/confchange.js'
import type { FaultPeer } from './fault-world.js'

/** What the checks below need of a world (both drivers have it). */
export interface CheckedWorld<P extends FaultPeer> {
  readonly peers: Map<string, P>
  readonly safety: { report(violation: string): void }
  leader(): P | undefined
  /** Run after every Ready a peer has handled (and advanced). */
  readonly afterReady: ((peer: P) => void)[]
  /** Run after every step of a leader. */
  readonly afterLeaderStep: ((peer: P) => void)[]
  /** False while `peer`'s Raft tick count lags its clock (its timers are late or stalled). */
  ticksCurrent?(peer: P): boolean
}

/**
 * Membership agreement, checked after every Ready: a peer that has applied up to index i holds
 * the configuration the log defines at i, the same on every peer. A configuration change applied
 * out of order (say, under a snapshot that already covers it) shows up here.
 */
export function watchConfAgreement<P extends FaultPeer>(cluster: CheckedWorld<P>): void {
  const confAt = new Map<number, string>()
  // Raft replaces its configuration object on every change: each one is serialized once.
  const text = new WeakMap<object, string>()
  cluster.afterReady.push((peer: P) => {
    const raft = peer.node?.raft
    if (!raft) return
    const applied = raft.log.applied
    let conf = text.get(raft.conf)
    if (conf === undefined) {
      conf = JSON.stringify(raft.conf)
      text.set(raft.conf, conf)
    }
    const known = confAt.get(applied)
    if (known === undefined) confAt.set(applied, conf)
    else if (known !== conf)
      cluster.safety.report(
        `membership: ${peer.id} holds ${conf} at applied index ${applied}, another peer ${known}`,
      )
  })
}

/**
 * The lease's promise, checked on every step of a leader: while a leader's lease is valid, no
 * leader of a later term exists. A lease too long for the drift bound, or a vote that ignores
 * it, shows up here even when no client read happened to fall in the gap.
 */
export function watchLeases<P extends FaultPeer>(cluster: CheckedWorld<P>): void {
  cluster.afterLeaderStep.push((peer: P) => {
    const raft = peer.node?.raft
    if (!raft) return
    for (const other of cluster.peers.values()) {
      const o = other.node?.raft
      if (!o || o === raft || o.role !== 'leader' || o.term === raft.term) continue
      const [older, newer] = o.term < raft.term ? [o, raft] : [raft, o]
      // A lease is judged by its holder's tick count: only once that count has caught up.
      const holder = older === raft ? peer : other
      if (cluster.ticksCurrent && !cluster.ticksCurrent(holder)) continue
      if (older.leaseValid())
        cluster.safety.report(
          `lease: ${newer.id} leads term ${newer.term} while ${older.id} (term ${older.term}) holds a lease`,
        )
    }
  })
}

/**
 * Once faults have stopped and the group has settled: no follower is still being sent a snapshot,
 * and every live member has caught up with the leader's commit index.
 */
export function checkSettled<P extends FaultPeer>(cluster: CheckedWorld<P>): string[] {
  const leader = cluster.leader()
  const raft = leader?.node?.raft
  if (!raft) return []
  const out: string[] = []
  for (const id of allMembers(raft.conf)) {
    const peer = cluster.peers.get(id)
    if (id === raft.id || !peer?.node) continue
    const pr = raft.progress.get(id)
    if (pr?.state === 'snapshot') out.push(`settled: ${id} is still in snapshot state at leader ${raft.id}`)
    else if (peer.node.raft.log.committed < raft.log.committed)
      out.push(
        `settled: ${id} has commit ${peer.node.raft.log.committed}, leader ${raft.id} ${raft.log.committed}`,
      )
  }
  return out
}
