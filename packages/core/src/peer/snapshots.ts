// Snapshots: taken at the state machine's applied index when the log passes the triggers, and
// installed (restored without re-indexing) when the leader sends one.

import { concatBytes } from '../bytes.js'
import type { Snapshot } from '../raft/messages.js'
import { restoreInto, takeSnapshot } from '../state/snapshot.js'
import type { StateMachine } from '../state/state-machine.js'
import type { PeerDriver } from './driver.js'
import { PeerError } from './errors.js'

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
    await restoreInto(sm, unframe(data))
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
  const chunks = frame([...takeSnapshot(sm, { chunkBytes: snapshotChunkBytes })])
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

/**
 * Storage and the wire re-cut a snapshot into chunks of their own, so each state-machine chunk
 * travels behind its length (4 bytes, big-endian).
 */
export function frame(chunks: Uint8Array[]): Uint8Array[] {
  const out: Uint8Array[] = []
  for (const c of chunks) {
    const prefix = new Uint8Array(4)
    new DataView(prefix.buffer).setUint32(0, c.length)
    out.push(prefix, c)
  }
  return out
}

export function unframe(data: Uint8Array): Uint8Array[] {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength)
  const chunks: Uint8Array[] = []
  let at = 0
  while (at < data.length) {
    if (at + 4 > data.length) throw new PeerError('ERR_FAILED', `snapshot is truncated at byte ${at}`)
    const length = view.getUint32(at)
    at += 4
    if (at + length > data.length)
      throw new PeerError('ERR_FAILED', `snapshot chunk at byte ${at} runs past the end`)
    chunks.push(data.subarray(at, at + length))
    at += length
  }
  return chunks
}
