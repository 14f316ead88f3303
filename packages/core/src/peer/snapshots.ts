// Snapshots: taken at the state machine's applied index when the log passes the triggers, and
// installed (restored without re-indexing) when the leader sends one.

import { concatBytes } from '../bytes.js'
import type { Snapshot } from '../raft/messages.js'
import { restoreInto, takeSnapshot } from '../state/snapshot.js'
import type { StateMachine } from '../state/state-machine.js'
import type { PeerDriver } from './driver.js'

export interface SnapshotState {
  /** Index of the newest snapshot in storage. */
  index: number
  /** Bytes of entries applied since it was taken. */
  appliedBytes: number
  /** Its size in bytes. */
  bytes: number
}

/** Replaces this replica's state by the leader's snapshot: durable first, then restored. */
export async function installSnapshot(d: PeerDriver, snap: Snapshot): Promise<void> {
  await d.storage.writeSnapshot(snap.meta, snap.data.length > 0 ? [snap.data] : [], { replaceLog: true })
  d.log.applySnapshot(snap)
  if (d.sm) await restoreState(d.sm, snap.data, snap.meta.index)
  d.snapshot.index = snap.meta.index
  d.snapshot.appliedBytes = 0
  d.snapshot.bytes = snap.data.length
  d.counters.snapshotsInstalled++
  d.events.emit('snapshot', { kind: 'installed', index: snap.meta.index, bytes: snap.data.length })
}

/** Loads snapshot bytes into a state machine; empty bytes are the empty state at `index`. */
export async function restoreState(sm: StateMachine, data: Uint8Array, index: number): Promise<void> {
  if (data.length > 0) {
    await restoreInto(sm, [data])
    return
  }
  for (const c of sm.collections.values()) c.free()
  sm.collections.clear()
  sm.sessions.clear()
  sm.lastApplied = index
}

/** Takes a snapshot at the state machine's applied index once a trigger is passed, then compacts. */
export async function maybeTakeSnapshot(d: PeerDriver): Promise<void> {
  const sm = d.sm
  if (!sm) return
  const { snapshotEntries, snapshotBytes, snapshotChunkBytes } = d.settings
  const index = sm.lastApplied
  const due = index - d.snapshot.index >= snapshotEntries || d.snapshot.appliedBytes >= snapshotBytes
  if (!due || index <= d.snapshot.index || index > d.log.lastIndex()) return
  const meta = { index, term: d.log.term(index), conf: structuredClone(d.node.raft.conf) }
  // Captured now: nothing applied while the chunks are written can leak into them.
  const chunks = [...takeSnapshot(sm, { chunkBytes: snapshotChunkBytes })]
  await d.storage.writeSnapshot(meta, chunks)
  if (d.state !== 'running') return
  const data = concatBytes(chunks)
  d.log.createSnapshot(meta, data)
  await d.storage.compact(index)
  d.snapshot.index = index
  d.snapshot.appliedBytes = 0
  d.snapshot.bytes = data.length
  d.counters.snapshotsTaken++
  d.events.emit('snapshot', { kind: 'taken', index, bytes: data.length })
}
