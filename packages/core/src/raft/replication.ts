// What the leader sends: appends within each follower's flow-control window, heartbeats that
// date leases, and snapshots in chunks.

import { allMembers } from './confchange.js'
import { type Entry, MessageType, NONE, type PeerId } from './messages.js'
import type { Progress } from './progress.js'
import type { Raft } from './raft.js'

export function sendAppend(r: Raft, to: PeerId, allowEmpty = true): boolean {
  const pr = r.progress.get(to)
  if (!pr || pr.isPaused()) return false
  const prevIndex = pr.next - 1
  const prevTerm = r.log.termOrUndefined(prevIndex)
  let entries: Entry[] | undefined
  if (prevTerm !== undefined) {
    try {
      entries = r.log.entriesFrom(pr.next, r.cfg.maxSizePerMsg)
    } catch {
      entries = undefined
    }
  }
  if (prevTerm === undefined || entries === undefined) {
    sendSnapshot(r, to, pr)
    return true
  }
  if (entries.length === 0 && !allowEmpty) return false
  r.send({
    type: MessageType.App,
    to,
    index: prevIndex,
    logTerm: prevTerm,
    entries,
    commit: r.log.committed,
    dataMatch: dataMatchFor(r, to),
  })
  if (entries.length > 0) {
    const last = entries[entries.length - 1].index
    if (pr.state === 'replicate') {
      pr.next = last + 1
      pr.inflights.add(
        last,
        entries.reduce((n, e) => n + e.data.length, 0),
      )
    } else if (pr.state === 'probe') {
      pr.probeSent = true
    }
  } else if (pr.state === 'probe') {
    pr.probeSent = true
  }
  return true
}

export function dataMatchFor(r: Raft, to: PeerId): number | undefined {
  if (!r.conf.witnesses.includes(to)) return undefined
  let min = r.log.committed
  // Every data member, learners too: any of them may become the voter that needs the entries.
  for (const id of allMembers(r.conf)) {
    if (r.conf.witnesses.includes(id)) continue
    min = Math.min(min, r.progress.get(id)?.match ?? 0)
  }
  return min
}

export function sendSnapshot(r: Raft, to: PeerId, pr: Progress): void {
  if (!pr.recentActive) return
  // A witness holds no data to send; a data leader will bring this follower up to date.
  if (r.isWitness) return
  const snap = r.log.snapshot()
  pr.becomeSnapshot(snap.meta.index)
  sendSnapshotChunk(r, to, pr)
}

export function sendSnapshotChunk(r: Raft, to: PeerId, pr: Progress): void {
  const snap = r.log.snapshot()
  if (snap.meta.index !== pr.pendingSnapshot) {
    pr.becomeSnapshot(snap.meta.index)
  }
  r.snapshotStall.set(to, 0)
  // A witness needs only the snapshot's metadata (as does anyone, of an empty snapshot).
  if (r.conf.witnesses.includes(to) || snap.size === 0) {
    r.send({ type: MessageType.Snap, to, snapshot: { meta: snap.meta, offset: 0, total: 0, data: EMPTY } })
    return
  }
  // A chunk request: the driver reads the bytes from storage as it sends (Raft holds none).
  const offset = pr.snapshotOffset
  const length = Math.min(r.cfg.snapshotChunkBytes, snap.size - offset)
  r.send({
    type: MessageType.Snap,
    to,
    snapshot: { meta: snap.meta, offset, total: snap.size, data: EMPTY, length },
  })
}

const EMPTY = new Uint8Array(0)

export function bcastAppend(r: Raft): void {
  for (const id of r.progress.keys()) if (id !== r.id) sendAppend(r, id)
}

export function bcastHeartbeat(r: Raft, context?: Uint8Array): void {
  for (const [id, pr] of r.progress) {
    if (id === r.id) continue
    r.send({
      type: MessageType.Heartbeat,
      to: id,
      // The follower may only commit what it is known to hold.
      commit: Math.min(pr.match, r.log.committed),
      // The leader's clock at sending: echoed back, it dates the lease. During a transfer, the
      // transfer's stamp (see Raft.honoursTransfer); the lease is off until it ends.
      index: r.leadTransferee === NONE ? r.ticks : r.transferStamp,
      context,
      dataMatch: dataMatchFor(r, id),
    })
  }
}
