import { isJoint } from '../raft/confchange.js'
import type { PeerDriver } from './driver.js'
import { membersOf } from './membership.js'
import type { Reads } from './reads.js'
import type { MemberStatus, PeerMetrics, PeerStatus } from './types.js'

/** Per member, on the leader: match index and lag in entries and in ms. */
function memberStatus(d: PeerDriver): MemberStatus[] {
  const raft = d.node.raft
  const members = membersOf(raft.conf)
  if (raft.role !== 'leader') return members
  const last = raft.log.lastIndex()
  const now = d.ticks.now()
  let minMatch = last
  for (const m of members) {
    const pr = raft.progress.get(m.id)
    if (!pr) continue
    m.match = pr.match
    m.state = pr.state
    m.lagEntries = Math.max(0, last - pr.match)
    const oldestMissing = d.appendTimes.get(pr.match + 1)
    m.lagMs = m.lagEntries === 0 || oldestMissing === undefined ? 0 : Math.max(0, now - oldestMissing)
    if (pr.match < minMatch) minMatch = pr.match
  }
  for (const index of d.appendTimes.keys()) {
    if (index > minMatch) break
    d.appendTimes.delete(index)
  }
  return members
}

export function peerStatus(d: PeerDriver, reads: Reads): PeerStatus {
  const raft = d.node.raft
  const running = d.state === 'running'
  return {
    id: d.settings.id,
    role: d.settings.role,
    raftRole: raft.role,
    state: d.state,
    term: raft.term,
    leader: raft.lead || null,
    commit: raft.log.committed,
    applied: d.applied,
    firstIndex: raft.log.firstIndex(),
    lastIndex: raft.log.lastIndex(),
    snapshotIndex: d.snapshot.index,
    members: memberStatus(d),
    joint: isJoint(raft.conf),
    leaseValid: running && raft.leaseValid(),
    stalenessBoundMs: running && !d.isWitness ? reads.boundNow() : null,
    ...(d.failure ? { error: d.failure.message } : {}),
  }
}

export function peerMetrics(d: PeerDriver): PeerMetrics {
  const raft = d.node.raft
  const c = d.counters
  const replicationLag: PeerMetrics['replicationLag'] = {}
  for (const m of memberStatus(d)) {
    if (m.id === d.settings.id || m.lagEntries === undefined) continue
    replicationLag[m.id] = { entries: m.lagEntries, seconds: (m.lagMs ?? 0) / 1000 }
  }
  return {
    term: raft.term,
    role: raft.role,
    commitIndex: raft.log.committed,
    appliedIndex: d.applied,
    replicationLag,
    snapshotBytes: d.snapshot.bytes,
    proposals: c.proposals.snapshot(),
    reads: c.reads.snapshot(),
    electionsStarted: c.electionsStarted,
    electionsWon: c.electionsWon,
    snapshotsTaken: c.snapshotsTaken,
    snapshotsSent: c.snapshotsSent,
    snapshotsInstalled: c.snapshotsInstalled,
    messagesSent: c.sent.snapshot(),
    messagesReceived: c.received.snapshot(),
    messagesDropped: c.dropped.snapshot(),
    fsyncSeconds: c.fsync.snapshot(),
    applySeconds: c.apply.snapshot(),
  }
}
