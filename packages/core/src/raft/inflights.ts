/**
 * The append messages in flight to one follower, as a FIFO of (last index, bytes). Flow control:
 * the leader stops sending when either the count or the byte budget is used up.
 */
export class Inflights {
  private indexes: number[] = []
  private sizes: number[] = []
  private head = 0
  private bytes = 0

  constructor(
    readonly maxCount: number,
    readonly maxBytes: number,
  ) {}

  get count(): number {
    return this.indexes.length - this.head
  }

  add(lastIndex: number, size: number): void {
    this.indexes.push(lastIndex)
    this.sizes.push(size)
    this.bytes += size
  }

  /** Frees every message whose last index is <= `index` (they were acknowledged). */
  freeLE(index: number): void {
    while (this.head < this.indexes.length && this.indexes[this.head] <= index) {
      this.bytes -= this.sizes[this.head]
      this.head++
    }
    if (this.head > 64 && this.head * 2 > this.indexes.length) {
      this.indexes = this.indexes.slice(this.head)
      this.sizes = this.sizes.slice(this.head)
      this.head = 0
    }
  }

  /** Frees the oldest message: a heartbeat reply shows the link works, so probe past a lost one. */
  freeFirst(): void {
    if (this.count > 0) this.freeLE(this.indexes[this.head])
  }

  full(): boolean {
    return this.count >= this.maxCount || (this.maxBytes > 0 && this.bytes >= this.maxBytes)
  }

  reset(): void {
    this.indexes = []
    this.sizes = []
    this.head = 0
    this.bytes = 0
  }
}
