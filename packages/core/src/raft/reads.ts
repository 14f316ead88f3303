// Reads at the leader (ReadIndex, lease) and leadership transfer, which ends the lease.

import { allVoters } from './confchange.js'
import { handleReadIndexResp } from './follower.js'
import { committedInCurrentTerm } from './leader.js'
import { type Message, MessageType, NONE, type PeerId } from './messages.js'
import type { Raft } from './raft.js'
import { ReadMode } from './read-types.js'
import { bcastHeartbeat, sendAppend } from './replication.js'

export function leaderReadIndex(r: Raft, m: Message): void {
  if (r.isWitness && m.from === r.id) {
    dropRead(r, m)
    return
  }
  if (!committedInCurrentTerm(r)) {
    // Until an entry of this term commits, our commit index may trail the group's.
    r.pendingReads.push(m)
    return
  }
  const voters = allVoters(r.conf)
  if (voters.length === 1 && voters[0] === r.id) {
    answerRead(r, m, r.log.committed, false)
    return
  }
  if (m.index === ReadMode.Lease && r.leaseValid()) {
    answerRead(r, m, r.log.committed, true)
    return
  }
  const ctx = r.readOnly.add(r.log.committed, m)
  r.readOnly.ack(ctx, r.id)
  // Probes wait for the next heartbeat; client reads are confirmed at once.
  if (m.index !== ReadMode.Probe) bcastHeartbeat(r, ctx)
}

export function releasePendingReads(r: Raft): void {
  if (r.pendingReads.length === 0 || !committedInCurrentTerm(r)) return
  const reads = r.pendingReads
  r.pendingReads = []
  for (const read of reads) leaderReadIndex(r, read)
}

export function answerRead(r: Raft, request: Message, index: number, lease: boolean): void {
  const context = request.context ?? new Uint8Array(0)
  if (request.from === r.id) {
    handleReadIndexResp(r, {
      type: MessageType.ReadIndexResp,
      from: r.id,
      to: r.id,
      term: 0,
      index,
      context,
      reject: !lease,
    })
  } else {
    r.send({ type: MessageType.ReadIndexResp, to: request.from, index, context, reject: !lease })
  }
}

export function dropRead(_r: Raft, _m: Message): void {
  // The caller times out and retries; a read has no effect to undo.
}

export function transferTo(r: Raft, to: PeerId): void {
  if (r.role !== 'leader') return
  // Not to an outgoing voter: it is being removed.
  if (to === r.id || !r.conf.voters.includes(to) || r.conf.witnesses.includes(to)) return
  if (r.leadTransferee === to) return
  abortLeaderTransfer(r)
  r.leadTransferee = to
  // Followers obey TimeoutNow even within a lease, so the lease ends here. Heartbeats carry the
  // transfer's stamp until it ends, so followers can tell its votes from a given-up transfer's.
  r.leaseFloor = Number.POSITIVE_INFINITY
  r.transferStamp = r.ticks
  r.electionElapsed = 0
  const pr = r.progress.get(to)
  if (pr && pr.match === r.log.lastIndex()) sendTimeoutNow(r, to)
  else sendAppend(r, to)
}

export function sendTimeoutNow(r: Raft, to: PeerId): void {
  r.send({ type: MessageType.TimeoutNow, to, index: r.transferStamp })
}

export function abortLeaderTransfer(r: Raft): void {
  if (r.leadTransferee === NONE) return
  r.leadTransferee = NONE
  // Acks of heartbeats sent before now might predate the transfer.
  r.leaseFloor = r.ticks + 1
  for (const pr of r.progress.values()) pr.leaseAckTick = Number.NEGATIVE_INFINITY
}
