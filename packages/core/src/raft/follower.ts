// Follower and candidate behaviour: accepting appends, heartbeats and snapshot chunks from the
// leader, forwarding requests to it, and counting votes.

import { campaign, hup, poll } from './election.js'
import { type Message, MessageType, NONE, type SnapshotInfo } from './messages.js'
import type { Raft } from './raft.js'
import { readKey } from './read-only.js'
import { PROBE_HEADER, PROBE_TAG, ReadMode } from './read-types.js'
import { dropRead } from './reads.js'

export function stepCandidate(r: Raft, m: Message): void {
  const myResp = r.role === 'precandidate' ? MessageType.PreVoteResp : MessageType.VoteResp
  switch (m.type) {
    case MessageType.Prop:
      r.dropProposal(m, 'no leader')
      return
    case MessageType.App:
    case MessageType.Heartbeat:
    case MessageType.Snap:
      // A leader of our term exists: follow it.
      r.becomeFollower(m.term, m.from)
      handleFromLeader(r, m)
      return
    case MessageType.ReadIndex:
      dropRead(r, m)
      return
    case myResp: {
      const res = poll(r, m.from, !m.reject)
      if (res === 'won') {
        if (r.role === 'precandidate') campaign(r, 'election')
        else r.becomeLeader()
      } else if (res === 'lost') {
        r.becomeFollower(r.term, NONE)
      }
      return
    }
  }
}

function handleFromLeader(r: Raft, m: Message): void {
  r.sinceLeader = 0
  // To a witness: every data member holds the log up to here, so it may drop that much.
  if (m.dataMatch !== undefined) r.witnessSafeIndex = Math.max(r.witnessSafeIndex, m.dataMatch)
  if (m.type === MessageType.App) handleAppend(r, m)
  else if (m.type === MessageType.Heartbeat) handleHeartbeat(r, m)
  else handleSnapshotChunk(r, m)
}

export function stepFollower(r: Raft, m: Message): void {
  switch (m.type) {
    case MessageType.Prop:
      if (r.lead === NONE) {
        r.dropProposal(m, 'no leader')
        return
      }
      r.send({ ...m, to: r.lead, term: 0 })
      return
    case MessageType.App:
    case MessageType.Heartbeat:
    case MessageType.Snap:
      r.electionElapsed = 0
      r.lead = m.from
      handleFromLeader(r, m)
      return
    case MessageType.TransferLeader:
      if (r.lead === NONE) return
      r.send({ ...m, to: r.lead, term: 0 })
      return
    case MessageType.TimeoutNow:
      // Only our leader may hand leadership over: from anyone else it would start an election
      // that followers in the leader's lease honour.
      if (m.from !== r.lead) return
      // Without a stamp, the campaign is one that no follower in a lease honours.
      hup(r, m.index ?? Number.NEGATIVE_INFINITY)
      return
    case MessageType.ReadIndex:
      if (m.from === r.id && r.faults.leaseAfterStepDown && m.index === ReadMode.Lease) {
        if (r.ticks < r.staleLeaseExpiry) {
          r.faultHits++
          r.readStates.push({
            index: r.log.committed,
            context: m.context ?? new Uint8Array(0),
            lease: true,
          })
          return
        }
      }
      if (r.lead === NONE) {
        dropRead(r, m)
        return
      }
      r.send({ ...m, to: r.lead, term: 0 })
      return
    case MessageType.ReadIndexResp:
      // Our reads go to our leader: an answer from any other member could make a read wait
      // for too little (a stale read) or forge a freshness proof.
      if (m.from !== r.lead) return
      handleReadIndexResp(r, m)
      return
  }
}

export function handleAppend(r: Raft, m: Message): void {
  const index = m.index ?? 0
  if (index < r.log.committed) {
    r.send({ type: MessageType.AppResp, to: m.from, index: r.log.committed })
    return
  }
  const lastNew = r.log.maybeAppend(index, m.logTerm ?? 0, m.commit ?? 0, m.entries ?? [])
  if (lastNew !== undefined) {
    if (r.faults.uncappedFollowerCommit) uncappedCommit(r, m.commit ?? 0)
    r.send({ type: MessageType.AppResp, to: m.from, index: lastNew })
    return
  }
  const hint = r.log.findConflictByTerm(Math.min(index, r.log.lastIndex()), m.logTerm ?? 0)
  r.send({
    type: MessageType.AppResp,
    to: m.from,
    index,
    reject: true,
    rejectHint: hint.index,
    logTerm: hint.term,
  })
}

export function handleHeartbeat(r: Raft, m: Message): void {
  if (m.index !== undefined && m.index > r.leaderStamp) r.leaderStamp = m.index
  r.log.commitTo(Math.min(m.commit ?? 0, r.log.lastIndex()))
  r.send({ type: MessageType.HeartbeatResp, to: m.from, index: m.index, context: m.context })
}

export function handleSnapshotChunk(r: Raft, m: Message): void {
  const c = m.snapshot
  if (!c) return
  const meta = c.meta
  if (meta.index <= r.log.committed) {
    r.incoming = null
    r.send({ type: MessageType.AppResp, to: m.from, index: r.log.committed })
    return
  }
  // A snapshot restored here waits for the driver (its last chunk and its install are in the
  // next Ready). A newer transfer's chunks would be written before that install and replace the
  // write it needs, so they are dropped: the leader resends once it sees no progress.
  if (r.log.unstableSnapshot) return
  // Each replica serializes its own snapshot, so bytes differ between leaders at one index: a
  // transfer is one sender's, in one term, of one size. On any change, restart from offset 0.
  const cur = r.incoming
  const same =
    cur !== null &&
    cur.from === m.from &&
    cur.term === m.term &&
    cur.total === c.total &&
    cur.meta.index === meta.index &&
    cur.meta.term === meta.term
  if (!same) {
    if (c.offset !== 0) {
      r.incoming = null
      r.send({ type: MessageType.SnapResp, to: m.from, index: meta.index, rejectHint: 0, reject: true })
      return
    }
    r.incoming = { from: m.from, term: m.term, meta, total: c.total, received: 0 }
  }
  const inc = r.incoming!
  if (c.offset !== inc.received) {
    r.send({ type: MessageType.SnapResp, to: m.from, index: meta.index, rejectHint: inc.received })
    return
  }
  // The bytes go to storage through the Ready (offset 0 starts a new write, dropping any partial
  // one); Raft keeps only the count. The ack below leaves once the driver has written them.
  r.snapshotChunks.push({ meta: inc.meta, offset: c.offset, total: inc.total, data: c.data })
  inc.received += c.data.length
  if (inc.received < inc.total) {
    r.send({ type: MessageType.SnapResp, to: m.from, index: meta.index, rejectHint: inc.received })
    return
  }
  r.incoming = null
  if (restore(r, { meta: inc.meta, size: inc.total })) {
    r.send({ type: MessageType.AppResp, to: m.from, index: r.log.lastIndex() })
  } else {
    r.send({ type: MessageType.AppResp, to: m.from, index: r.log.committed })
  }
}

/** Installs a snapshot from the leader (its bytes already written); false if it brings nothing new. */
export function restore(r: Raft, s: SnapshotInfo): boolean {
  if (s.meta.index <= r.log.committed) return false
  if (r.log.matchTerm(s.meta.index, s.meta.term)) {
    // We already hold the snapshot's last entry: just move the commit index.
    r.log.commitTo(s.meta.index)
    return false
  }
  r.log.restore(s)
  r.conf = s.meta.conf
  r.rebuildProgress()
  return true
}

function isOwnProbe(r: Raft, ctx: Uint8Array): boolean {
  const id = new TextEncoder().encode(r.id)
  if (ctx[0] !== PROBE_TAG || ctx.length !== PROBE_HEADER + id.length) return false
  return id.every((b, i) => ctx[PROBE_HEADER + i] === b)
}

export function handleReadIndexResp(r: Raft, m: Message): void {
  const ctx = m.context ?? new Uint8Array(0)
  const key = readKey(ctx)
  const sentAt = r.probes.get(key)
  if (sentAt !== undefined) {
    r.probes.delete(key)
    const index = m.index ?? 0
    if (!r.freshness || r.freshness.tick < sentAt) r.freshness = { index, tick: sentAt }
    return
  }
  // A reply to a probe we no longer know (a previous run's, or one we gave up on) proves nothing.
  if (isOwnProbe(r, ctx)) return
  r.readStates.push({ index: m.index ?? 0, context: ctx, lease: m.reject === false })
}

/** Broken rule: entries past the append's last one may not be the leader's. */
function uncappedCommit(r: Raft, leaderCommit: number): void {
  const to = Math.min(leaderCommit, r.log.lastIndex())
  if (to <= r.log.committed) return
  r.faultHits++
  r.log.commitTo(to)
}
