import { type Message, MessageType } from '../raft/messages.js'
import { transferStamp } from '../raft/read-types.js'
import type { Cluster, SimPeer } from './cluster.js'

/** Counts of the situations the review found unreached (issue 17); tests assert they occur. */
export interface SimStats {
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
