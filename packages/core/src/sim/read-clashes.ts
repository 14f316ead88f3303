/** One client read, as far as context clashes go. */
export interface TrackedRead {
  peer: string
  call: number
  /** When the read's index reached its peer. */
  answeredAt?: number
  served?: boolean
}

/**
 * Finds issue 17's dangerous situation from the clients' side: read B is issued while another
 * peer's read A with the same context is open, a write was acknowledged after A began, A is
 * answered only after B began (so both were likely queued at the leader at once), and B is
 * served. A leader that merged B into A answers B at A's index, which misses that write.
 */
export class ReadClashes {
  private open = new Map<string, TrackedRead[]>()
  private clashes: { read: TrackedRead; with: TrackedRead[] }[] = []
  private lastAckAt = Number.NEGATIVE_INFINITY

  writeAcknowledged(at: number): void {
    this.lastAckAt = at
  }

  /** Records a read issued with context `ctxKey`; finish it with `close`. */
  issue(ctxKey: string, peer: string, call: number): TrackedRead {
    const open = this.open.get(ctxKey) ?? []
    const read: TrackedRead = { peer, call }
    const older = open.filter((r) => r.peer !== peer && this.lastAckAt > r.call)
    if (older.length > 0) this.clashes.push({ read, with: older })
    open.push(read)
    this.open.set(ctxKey, open)
    return read
  }

  close(ctxKey: string, read: TrackedRead): void {
    const open = this.open.get(ctxKey)?.filter((r) => r !== read) ?? []
    if (open.length > 0) this.open.set(ctxKey, open)
    else this.open.delete(ctxKey)
  }

  /** How many times the situation occurred. */
  count(): number {
    return this.clashes.filter(
      (c) => c.read.served && c.with.some((a) => a.answeredAt !== undefined && a.answeredAt >= c.read.call),
    ).length
  }
}
