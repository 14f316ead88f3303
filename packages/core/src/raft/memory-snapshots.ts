import { concatBytes } from '../bytes.js'
import { RaftError } from './errors.js'
import type { Message, SnapshotChunk, SnapshotInfo, SnapshotMeta } from './messages.js'

/**
 * Snapshot bytes kept in memory beside a MemoryLog, for loops that keep everything in memory
 * (the simulator's Raft loop, Raft tests). It does with bytes what a driver does with storage:
 * fills outgoing chunk requests and writes incoming chunks, installing them once complete.
 */
export class MemorySnapshots {
  /** The newest snapshot taken or installed. */
  current: { meta: SnapshotMeta; data: Uint8Array } | null = null
  private partial: { meta: SnapshotMeta; parts: Uint8Array[]; size: number } | null = null

  /** Records a snapshot taken locally (the log's createSnapshot gets `data.length`). */
  take(meta: SnapshotMeta, data: Uint8Array): void {
    if (this.current && meta.index <= this.current.meta.index) return
    this.current = { meta, data }
  }

  /**
   * The message to send: a chunk request gets its bytes; null when the snapshot it asks for is
   * no longer the current one (the leader resends from the new one).
   */
  fill(m: Message): Message | null {
    const c = m.snapshot
    if (c?.length === undefined) return m
    const cur = this.current
    if (!cur || cur.meta.index !== c.meta.index || cur.data.length !== c.total) return null
    const { length: _, ...rest } = c
    return { ...m, snapshot: { ...rest, data: cur.data.subarray(c.offset, c.offset + c.length) } }
  }

  /** Writes incoming chunks in order; offset 0 starts a new snapshot and drops a partial one. */
  write(chunks: SnapshotChunk[]): void {
    for (const c of chunks) {
      if (c.offset === 0) this.partial = { meta: c.meta, parts: [], size: 0 }
      const p = this.partial
      if (!p || p.meta.index !== c.meta.index || p.size !== c.offset)
        throw new RaftError('ERR_UNAVAILABLE', `chunk at ${c.offset} does not follow the write`)
      p.parts.push(c.data)
      p.size += c.data.length
    }
  }

  /** Makes the completed incoming snapshot current; returns its bytes. */
  install(info: SnapshotInfo): Uint8Array {
    const p = this.partial
    if (!p || p.meta.index !== info.meta.index || p.size !== info.size)
      throw new RaftError('ERR_UNAVAILABLE', `no complete write for the snapshot at ${info.meta.index}`)
    this.partial = null
    this.current = { meta: info.meta, data: concatBytes(p.parts) }
    return this.current.data
  }

  /** A crash: a partial write is lost, the current snapshot stays. */
  crash(): void {
    this.partial = null
  }
}
