// Leader behaviour: taking proposals, advancing the commit index (only by current-term entries),
// and handling followers' responses.

import { applyConfChange, type ConfChange, decodeConfChange } from './confchange.js'
import { RaftError } from './errors.js'
import {
  type ConfState,
  type Entry,
  EntryType,
  type Message,
  MessageType,
  NONE,
  type PeerId,
} from './messages.js'
import type { Progress } from './progress.js'
import { jointValue, jointVote } from './quorum.js'
import type { Raft } from './raft.js'
import { answerRead, leaderReadIndex, releasePendingReads, sendTimeoutNow, transferTo } from './reads.js'
import { bcastAppend, bcastHeartbeat, sendAppend, sendSnapshotChunk } from './replication.js'

export function stepLeader(r: Raft, m: Message): void {
  switch (m.type) {
    case MessageType.Beat:
      bcastHeartbeat(r, r.readOnly.lastContext())
      return
    case MessageType.Prop:
      leaderPropose(r, m)
      return
    case MessageType.ReadIndex:
      leaderReadIndex(r, m)
      return
    case MessageType.TransferLeader:
      // As in etcd, `from` names the transferee.
      transferTo(r, m.from)
      return
  }
  const pr = r.progress.get(m.from)
  if (!pr) return
  switch (m.type) {
    case MessageType.AppResp:
      handleAppendResponse(r, m, pr)
      return
    case MessageType.HeartbeatResp:
      handleHeartbeatResponse(r, m, pr)
      return
    case MessageType.SnapResp:
      handleSnapshotResponse(r, m, pr)
      return
    case MessageType.Unreachable:
      if (pr.state === 'replicate') pr.becomeProbe()
      return
  }
}

export function leaderPropose(r: Raft, m: Message): void {
  // Copied: a refused conf change is replaced below, and the message may be shared.
  const entries = (m.entries ?? []).slice()
  if (entries.length === 0) return
  if (r.isWitness) {
    r.dropProposal(m, 'a witness leader takes no proposals')
    return
  }
  if (r.leadTransferee !== NONE) {
    r.dropProposal(m, 'leadership transfer in progress')
    return
  }
  if (!r.isVoter()) {
    r.dropProposal(m, 'leader was removed from the voters')
    return
  }
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]
    if (e.type !== EntryType.ConfChange) continue
    const reason = confChangeRefusal(r, e.data)
    if (reason) {
      if (r.localCall) throw new RaftError('ERR_CONF_CHANGE_PENDING', reason)
      entries[i] = { ...e, type: EntryType.Normal, data: new Uint8Array(0) }
    } else {
      r.pendingConfIndex = r.log.lastIndex() + i + 1
    }
  }
  appendEntries(r, entries)
  bcastAppend(r)
}

export function confChangeRefusal(r: Raft, data: Uint8Array): string | undefined {
  if (r.pendingConfIndex > r.log.applied) return 'a configuration change is still being applied'
  let next: ConfState
  let cc: ConfChange
  try {
    cc = decodeConfChange(data)
    next = applyConfChange(r.conf, cc)
  } catch (err) {
    return (err as Error).message
  }
  // Leaving a joint configuration is automatic and was checked on entering it.
  if (cc.changes.length === 0) return undefined
  // A witness cannot bring a data voter up to date: some data voter of the new configuration
  // must already hold the committed log, or a witness leader could wait on a snapshot forever.
  const holdsLog = next.voters.some(
    (id) => !next.witnesses.includes(id) && (r.progress.get(id)?.match ?? 0) >= r.log.committed,
  )
  if (!holdsLog) return 'the change leaves no data voter that holds the committed log'
  return undefined
}

export function appendEntries(r: Raft, entries: Entry[]): void {
  let index = r.log.lastIndex()
  const stamped = entries.map((e) => ({ term: r.term, index: ++index, type: e.type, data: e.data }))
  r.log.append(stamped)
  // The leader counts its own copy only once it is durable (see onStable).
}

export function maybeCommit(r: Raft): boolean {
  const index = jointValue(r.conf.voters, r.conf.outgoing, (id) => r.progress.get(id)?.match ?? 0)
  if (!Number.isFinite(index)) return false
  if (r.faults.commitPreviousTerm && index > r.log.committed && index <= r.log.lastIndex()) {
    if (r.log.termOrUndefined(index) !== r.term) r.faultHits++
    r.log.commitTo(index)
    return true
  }
  // Only an entry of the current term is committed by counting replicas (Raft Figure 8).
  const committed = r.log.maybeCommit(index, r.term)
  if (committed) releasePendingReads(r)
  return committed
}

export function committedInCurrentTerm(r: Raft): boolean {
  return r.log.termOrUndefined(r.log.committed) === r.term
}

export function handleAppendResponse(r: Raft, m: Message, pr: Progress): void {
  const index = m.index ?? 0
  // A match beyond our log is a lie (or a reply to an old leader): it would stall replication.
  if (!m.reject && index > r.log.lastIndex()) return
  pr.recentActive = true
  if (m.reject) {
    let next = m.rejectHint ?? 0
    if ((m.logTerm ?? 0) > 0) next = r.log.findConflictByTerm(next, m.logTerm ?? 0).index
    if (pr.maybeDecrTo(index, next)) {
      if (pr.state === 'replicate') pr.becomeProbe()
      sendAppend(r, m.from)
    }
    return
  }
  const wasPaused = pr.isPaused()
  if (!pr.maybeUpdate(index)) {
    if (wasPaused && !pr.isPaused()) sendAppend(r, m.from)
    return
  }
  if (pr.state === 'probe') pr.becomeReplicate()
  else if (pr.state === 'snapshot' && pr.match >= pr.pendingSnapshot) pr.becomeProbe()
  else if (pr.state === 'replicate') pr.inflights.freeLE(index)

  if (maybeCommit(r)) {
    bcastAppend(r)
  } else {
    let sent = false
    while (sendAppend(r, m.from, false)) {
      sent = true
      if (pr.state !== 'replicate') break
    }
    // A follower that was paused may have missed a commit index advance: tell it now.
    if (!sent && wasPaused) sendAppend(r, m.from)
  }
  if (m.from === r.leadTransferee && pr.match === r.log.lastIndex()) sendTimeoutNow(r, m.from)
}

export function handleHeartbeatResponse(r: Raft, m: Message, pr: Progress): void {
  pr.recentActive = true
  pr.probeSent = false
  if (pr.state === 'replicate' && pr.inflights.full()) pr.inflights.freeFirst()
  // An echoed stamp from our future was never sent: it would stretch the lease.
  const stamp = m.index
  if (stamp !== undefined && stamp <= r.ticks && stamp >= r.leaseFloor && stamp > pr.leaseAckTick)
    pr.leaseAckTick = stamp
  if (pr.state === 'snapshot') {
    const stalls = (r.snapshotStall.get(m.from) ?? 0) + 1
    r.snapshotStall.set(m.from, stalls)
    // No progress for three heartbeats: the chunk in flight (or its reply) was lost.
    if (stalls >= 3) sendSnapshotChunk(r, m.from, pr)
  } else if (pr.match < r.log.lastIndex()) {
    sendAppend(r, m.from)
  }
  if (!m.context || m.context.length === 0) return
  const acks = r.readOnly.ack(m.context, m.from)
  if (!acks) return
  const votes = new Map<PeerId, boolean>([...acks].map((id) => [id, true]))
  if (jointVote(r.conf.voters, r.conf.outgoing, votes) !== 'won') return
  for (const read of r.readOnly.advance(m.context)) answerRead(r, read.request, read.index, false)
}

export function handleSnapshotResponse(r: Raft, m: Message, pr: Progress): void {
  pr.recentActive = true
  if (pr.state !== 'snapshot' || m.index !== pr.pendingSnapshot) return
  if (m.reject) {
    pr.snapshotOffset = 0
    sendSnapshotChunk(r, m.from, pr)
    return
  }
  // Only an offset that moves forward acknowledges the chunk in flight: a duplicated or late
  // reply must not stop the resend of a chunk that may be lost. A follower that holds it all
  // answers with AppResp, so an offset at or past the end is a hostile or buggy one: ignored.
  const offset = m.rejectHint ?? 0
  if (offset > pr.snapshotOffset && offset < r.log.snapshot().size) {
    pr.snapshotOffset = offset
    sendSnapshotChunk(r, m.from, pr)
  }
}
