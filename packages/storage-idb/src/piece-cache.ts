/**
 * The snapshot pieces read most recently. Raft sends a snapshot in chunks smaller than a piece
 * (256 KiB against 1 MiB by default), one `read` per chunk: without this, every piece would be
 * read from IndexedDB once per chunk it holds. Pieces of a snapshot never change; a new snapshot
 * has a new id, and putting one of its pieces drops the old snapshot's.
 */
export class PieceCache {
  private id = -1
  private readonly pieces = new Map<number, Uint8Array>()

  constructor(private readonly capacity: number) {}

  /** Pieces `first`..`last` of snapshot `id`, if every one of them is held. */
  get(id: number, first: number, last: number): Uint8Array[] | undefined {
    if (id !== this.id) return undefined
    const rows: Uint8Array[] = []
    for (let n = first; n <= last; n++) {
      const row = this.pieces.get(n)
      if (!row) return undefined
      rows.push(row)
    }
    return rows
  }

  put(id: number, first: number, rows: readonly Uint8Array[]): void {
    if (id !== this.id) this.clear()
    this.id = id
    for (const [i, row] of rows.entries()) {
      // Re-inserting moves the piece to the back: the oldest is dropped first.
      this.pieces.delete(first + i)
      this.pieces.set(first + i, row)
    }
    for (const n of this.pieces.keys()) {
      if (this.pieces.size <= this.capacity) break
      this.pieces.delete(n)
    }
  }

  clear(): void {
    this.id = -1
    this.pieces.clear()
  }
}
