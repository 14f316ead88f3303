// Snapshots: taken at the state machine's applied index when the log passes the triggers; sent
// a chunk at a time read from storage; received a chunk at a time written to storage, then
// installed and restored by streaming it back (without re-indexing). None is ever whole in memory.

import type { Message, SnapshotChunk, SnapshotInfo } from '../raft/messages.js'
import { restoreInto, takeSnapshot } from '../state/snapshot.js'
import type { StateMachine } from '../state/state-machine.js'
import { type SnapshotWriter, type Storage, StorageError } from '../storage/storage.js'
import type { PeerDriver } from './driver.js'
import { PeerError } from './errors.js'
import { frame, unframe } from './snapshot-frames.js'

/** Bytes held in memory for a purpose, and the most ever held at once. */
export class ByteGauge {
  now = 0
  peak = 0

  add(n: number): void {
    this.now += n
    if (this.now > this.peak) this.peak = this.now
  }

  sub(n: number): void {
    this.now -= n
  }
}

export interface SnapshotState {
  /** Index of the newest snapshot in storage. */
  index: number
  /** Bytes of entries applied since it was taken. */
  appliedBytes: number
  /** Its size in bytes. */
  bytes: number
  /** The incoming snapshot being written, with the size it will have. */
  incoming: { writer: SnapshotWriter; total: number } | null
  /** Received chunk bytes not yet written to storage. */
  receiving: ByteGauge
  /** Chunk bytes read from storage and not yet handed to the transport. */
  sending: ByteGauge
  /**
   * Targets with a chunk read in flight, each with the newest request that came meanwhile:
   * Raft resends a stalled chunk, and overlapping reads would each hold one.
   */
  reading: Map<string, Message | null>
}

export function snapshotState(index: number, bytes: number): SnapshotState {
  return {
    index,
    appliedBytes: 0,
    bytes,
    incoming: null,
    receiving: new ByteGauge(),
    sending: new ByteGauge(),
    reading: new Map(),
  }
}

/**
 * Writes a Ready's incoming chunks, in order, before their acks leave. Offset 0 starts a new
 * write and discards a partial one (the leader restarted the transfer).
 */
export async function writeChunks(d: PeerDriver, chunks: SnapshotChunk[]): Promise<void> {
  const gauge = d.snapshot.receiving
  for (const c of chunks) gauge.add(c.data.length)
  for (const c of chunks) {
    if (c.offset === 0) {
      await abortIncoming(d)
      d.snapshot.incoming = { writer: await d.storage.beginSnapshot(c.meta), total: c.total }
    }
    const inc = d.snapshot.incoming
    if (!inc || inc.writer.meta.index !== c.meta.index || inc.writer.size !== c.offset)
      throw new PeerError('ERR_FAILED', `snapshot chunk at ${c.offset} does not follow the bytes written`)
    if (c.data.length > 0) await inc.writer.write(c.offset, c.data)
    gauge.sub(c.data.length)
  }
}

/** Raft took a complete transfer without installing it (it had the entries): drop the bytes. */
export async function dropCompleteTransfer(d: PeerDriver): Promise<void> {
  const inc = d.snapshot.incoming
  if (inc && inc.writer.size === inc.total) await abortIncoming(d)
}

async function abortIncoming(d: PeerDriver): Promise<void> {
  const inc = d.snapshot.incoming
  d.snapshot.incoming = null
  await inc?.writer.abort()
}

/** Replaces this replica's state by the leader's snapshot, written above: durable, then restored. */
export async function installSnapshot(d: PeerDriver, snap: SnapshotInfo): Promise<void> {
  const inc = d.snapshot.incoming
  if (!inc || inc.writer.meta.index !== snap.meta.index || inc.writer.size !== snap.size)
    throw new PeerError('ERR_FAILED', `snapshot at ${snap.meta.index} was installed before it was written`)
  d.snapshot.incoming = null
  await inc.writer.commit({ replaceLog: true })
  d.log.applySnapshot(snap)
  if (d.sm) await restoreState(d.sm, d.storage, snap.meta.index)
  d.snapshot.index = snap.meta.index
  d.snapshot.appliedBytes = 0
  d.snapshot.bytes = snap.size
  d.counters.snapshotsInstalled++
  d.events.emit('snapshot', { kind: 'installed', index: snap.meta.index, bytes: snap.size })
}

/**
 * Loads the stored snapshot at `index` into a state machine, streaming it from storage; no
 * snapshot or an empty one is the empty state at `index`.
 */
export async function restoreState(sm: StateMachine, storage: Storage, index: number): Promise<void> {
  const stored = await storage.readSnapshot()
  if (stored && stored.meta.index !== index)
    throw new PeerError('ERR_FAILED', `stored snapshot is at ${stored.meta.index}, expected ${index}`)
  if (stored && stored.size > 0) {
    await restoreInto(sm, unframe(stored.chunks()))
    return
  }
  for (const c of sm.collections.values()) c.free()
  sm.collections.clear()
  sm.sessions.clear()
  sm.lastApplied = index
}

/**
 * Sends a chunk request from Raft with its bytes read from storage, one read at a time per
 * target: a request that comes while one is read waits, and only the newest waits. A request
 * for a snapshot that storage no longer holds is dropped: the leader resends from the current one.
 */
export async function sendChunk(d: PeerDriver, m: Message): Promise<void> {
  const reading = d.snapshot.reading
  if (reading.has(m.to)) {
    reading.set(m.to, m)
    return
  }
  reading.set(m.to, null)
  let next: Message | null | undefined = m
  try {
    while (next) {
      await readAndSend(d, next)
      next = reading.get(m.to)
      reading.set(m.to, null)
    }
  } finally {
    reading.delete(m.to)
  }
}

async function readAndSend(d: PeerDriver, m: Message): Promise<void> {
  const c = m.snapshot!
  const length = c.length ?? 0
  d.snapshot.sending.add(length)
  try {
    const stored = await d.storage.readSnapshot()
    if (!stored || stored.meta.index !== c.meta.index || stored.size !== c.total) {
      d.counters.dropped.add('Snap:replaced')
      return
    }
    const data = await stored.read(c.offset, length)
    if (d.state !== 'running') return
    d.send({ ...m, snapshot: { meta: c.meta, offset: c.offset, total: c.total, data } })
  } catch (err) {
    const code = err instanceof StorageError ? err.code : 'error'
    // Replaced or closed under us: nothing is wrong with the store. Anything else is.
    if (code === 'ERR_UNAVAILABLE' || code === 'ERR_CLOSED') d.counters.dropped.add('Snap:replaced')
    else d.fail(err as Error)
  } finally {
    d.snapshot.sending.sub(length)
  }
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
  // The state is captured now and encoded as storage takes it; nothing is applied meanwhile
  // (this runs inside the Ready loop).
  let size = 0
  const counted = function* () {
    for (const piece of frame(takeSnapshot(sm, { chunkBytes: snapshotChunkBytes }))) {
      size += piece.length
      yield piece
    }
  }
  await d.storage.writeSnapshot(meta, counted())
  if (d.state !== 'running') return
  d.log.createSnapshot(meta, size)
  await d.storage.compact(index)
  d.snapshot.index = index
  d.snapshot.appliedBytes = 0
  d.snapshot.bytes = size
  d.counters.snapshotsTaken++
  d.events.emit('snapshot', { kind: 'taken', index, bytes: size })
}
