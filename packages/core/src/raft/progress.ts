import { Inflights } from './inflights.js'

/**
 * The leader's view of one follower. Probe: one append at a time until the match is found.
 * Replicate: optimistic pipelining within the in-flight window. Snapshot: chunks are streaming.
 */
export type ProgressState = 'probe' | 'replicate' | 'snapshot'

export class Progress {
  match = 0
  next: number
  state: ProgressState = 'probe'
  /** In probe state, an append is outstanding and no other may be sent until a reply. */
  probeSent = false
  /** Heard from since the last check-quorum round. */
  recentActive = false
  /** Snapshot state: the index of the snapshot being sent and the offset acknowledged so far. */
  pendingSnapshot = 0
  snapshotOffset = 0
  /** The leader tick stamped on the newest heartbeat this follower acknowledged (lease). */
  leaseAckTick = Number.NEGATIVE_INFINITY
  readonly inflights: Inflights

  constructor(next: number, maxInflight: number, maxInflightBytes: number) {
    this.next = next
    this.inflights = new Inflights(maxInflight, maxInflightBytes)
  }

  becomeProbe(): void {
    if (this.state === 'snapshot') {
      this.next = Math.max(this.match + 1, this.pendingSnapshot + 1)
    } else {
      this.next = this.match + 1
    }
    this.resetState('probe')
  }

  becomeReplicate(): void {
    this.next = this.match + 1
    this.resetState('replicate')
  }

  becomeSnapshot(index: number): void {
    this.resetState('snapshot')
    this.pendingSnapshot = index
    this.snapshotOffset = 0
  }

  private resetState(state: ProgressState): void {
    this.state = state
    this.probeSent = false
    this.pendingSnapshot = 0
    this.inflights.reset()
  }

  /** A successful append response: returns true if the match moved forward. */
  maybeUpdate(index: number): boolean {
    let updated = false
    if (this.match < index) {
      this.match = index
      updated = true
      this.probeSent = false
    }
    this.next = Math.max(this.next, index + 1)
    return updated
  }

  /** A rejection: step `next` back using the follower's hint; false if the rejection is stale. */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === 'replicate') {
      if (rejected <= this.match) return false
      this.next = this.match + 1
      return true
    }
    if (this.next - 1 !== rejected) return false
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1)
    this.probeSent = false
    return true
  }

  isPaused(): boolean {
    switch (this.state) {
      case 'probe':
        return this.probeSent
      case 'replicate':
        return this.inflights.full()
      case 'snapshot':
        return true
    }
  }
}
