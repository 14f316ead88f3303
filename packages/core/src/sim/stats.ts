import { type Message, MessageType } from '../raft/messages.js'
import { transferStamp } from '../raft/read-types.js'
import type { Cluster, SimPeer } from './cluster.js'
import { emptyStaleSuffixStats, type StaleSuffixStats } from './stale-suffix.js'

/** Counts of the situations the review found unreached (issue 17); tests assert they occur. */
export interface SimStats extends StaleSuffixStats {
  /** Snapshots installed that spanned more than one chunk. */
  chunkedSnapshots: number
  /** Snapshots restored while the peer's previous Ready was still being handled. */
  snapshotsDuringReady: number
  /** Read-index replies delivered to a later run of the peer that asked. */
  repliesAcrossRestart: number
  /** Transfer votes delivered more than an election timeout after they were sent. */
  lateTransferVotes: number
  /** Appends delivered more than 20 ms after they were sent (late or replayed duplicates). */
  replayedAppends: number
  /**
   * Leaderships in a joint configuration whose priority handover, counting outgoing voters too,
   * would pick an outgoing one (the handover issue 17 forbids; see handover-check.ts).
   */
  preferredOutgoing: number
  /** Leaders that took office as an outgoing voter of a joint configuration. */
  outgoingLeaders: number
  /**
   * Reads served that carried the context of another peer's read answered only after they began,
   * with a write acknowledged in between (issue 17's merged read contexts; read-clashes.ts).
   * Raft-only loop: real peers' contexts carry a per-run nonce and never clash.
   */
  clashingReads: number
}

export function countDelivery(
  stats: SimStats,
  cluster: Cluster,
  peer: SimPeer,
  ev: { msg: Message; sentAt: number; toGen: number },
  hadSnapshot: boolean,
): void {
  const m = ev.msg
  const raft = peer.node?.raft
  if (!raft) return
  if (!hadSnapshot && raft.log.unstableSnapshot && peer.readyInFlight) stats.snapshotsDuringReady++
  if (m.type === MessageType.ReadIndexResp && ev.toGen !== peer.gen) stats.repliesAcrossRestart++
  const { electionTick, tickMs } = cluster.opts
  if (m.type === MessageType.Vote && transferStamp(m) !== undefined) {
    if (cluster.now - ev.sentAt > electionTick * tickMs) stats.lateTransferVotes++
  }
  if (m.type === MessageType.App && cluster.now - ev.sentAt > 20) stats.replayedAppends++
}

export function emptyStats(): SimStats {
  return {
    chunkedSnapshots: 0,
    snapshotsDuringReady: 0,
    repliesAcrossRestart: 0,
    lateTransferVotes: 0,
    replayedAppends: 0,
    preferredOutgoing: 0,
    outgoingLeaders: 0,
    clashingReads: 0,
    ...emptyStaleSuffixStats(),
  }
}

/** The same counts in the world of real peers, taken as each message is delivered. */
export function countPeerDelivery(
  stats: SimStats,
  at: { now: number; electionMs: number; chunkBytes: number },
  to: { gen: number; readyInFlight: boolean },
  m: Message,
  sentAt: number,
  sentGen: number,
): void {
  const snap = m.type === MessageType.Snap ? m.snapshot : undefined
  if (snap && snap.offset === 0 && snap.total > at.chunkBytes) stats.chunkedSnapshots++
  // The last chunk lands while the receiver's driver is between ready() and advance().
  if (snap && snap.offset + snap.data.length >= snap.total && to.readyInFlight) stats.snapshotsDuringReady++
  if (m.type === MessageType.ReadIndexResp && sentGen !== to.gen) stats.repliesAcrossRestart++
  if (m.type === MessageType.Vote && transferStamp(m) !== undefined && at.now - sentAt > at.electionMs)
    stats.lateTransferVotes++
  if (m.type === MessageType.App && at.now - sentAt > 20) stats.replayedAppends++
}
