import {
  checkSnapshotWrite,
  type SnapshotMeta,
  type SnapshotWriteOptions,
  type SnapshotWriter,
  StorageError,
} from '@flotilla/core'
import type { SnapshotRecord } from './schema.js'

/** Snapshot data is stored in pieces of this size (the last may be shorter), one transaction each. */
export const PIECE_BYTES = 1 << 20

/** What a snapshot writer needs of the store. */
export interface PieceStore {
  checkOpen(): void
  /** Writes piece `n` of snapshot `id` (unfenced: a stale holder's pieces are garbage). */
  putPiece(id: number, n: number, piece: Uint8Array): Promise<void>
  /** Makes `record` the current snapshot in one transaction (replacing the log if asked). */
  installRecord(record: SnapshotRecord, options: SnapshotWriteOptions): Promise<void>
  /** Deletes the pieces of a write that will not be committed. */
  discardPieces(id: number): Promise<void>
}

/**
 * An incoming snapshot stored as it arrives, under a fresh id, so the current snapshot's pieces
 * stay readable until the switch. Bytes gather into one piece in memory (at most PIECE_BYTES)
 * and are stored when it fills; the record that makes them current is written on commit. Pieces
 * of a write never committed are deleted on abort, or by the next open.
 */
export class IdbSnapshotWriter implements SnapshotWriter {
  size = 0
  private readonly id = Date.now() * 1000 + Math.floor(Math.random() * 1000)
  private piece = new Uint8Array(PIECE_BYTES)
  private fill = 0
  private pieces = 0
  private done = false

  constructor(
    private readonly store: PieceStore,
    readonly meta: SnapshotMeta,
  ) {}

  async write(offset: number, bytes: Uint8Array): Promise<void> {
    this.checkPending()
    checkSnapshotWrite(offset, this.size)
    for (let at = 0; at < bytes.length; ) {
      const n = Math.min(PIECE_BYTES - this.fill, bytes.length - at)
      this.piece.set(bytes.subarray(at, at + n), this.fill)
      this.fill += n
      at += n
      this.size += n
      if (this.fill === PIECE_BYTES) await this.flush()
    }
  }

  async commit(options: SnapshotWriteOptions = {}): Promise<void> {
    this.checkPending()
    this.done = true
    try {
      if (this.fill > 0) await this.flush()
      this.store.checkOpen()
      const record: SnapshotRecord = {
        id: this.id,
        meta: structuredClone(this.meta),
        size: this.size,
        chunkCount: this.pieces,
      }
      await this.store.installRecord(record, options)
    } catch (err) {
      await this.store.discardPieces(this.id)
      throw err
    }
  }

  async abort(): Promise<void> {
    if (this.done) return
    this.done = true
    this.piece = new Uint8Array(0)
    await this.store.discardPieces(this.id)
  }

  private async flush(): Promise<void> {
    const piece = this.piece.slice(0, this.fill)
    this.fill = 0
    this.store.checkOpen()
    await this.store.putPiece(this.id, this.pieces, piece)
    this.pieces++
  }

  private checkPending(): void {
    this.store.checkOpen()
    if (this.done)
      throw new StorageError('ERR_INVALID', `snapshot at ${this.meta.index}: already committed or aborted`)
  }
}
