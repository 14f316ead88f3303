import type { Message, PeerId } from './messages.js'

/** A read request waiting for the leader to confirm it still leads (ReadIndex, Raft thesis §6.4). */
interface PendingRead {
  index: number
  /** Every request that arrived with this context (contexts from different peers may clash). */
  requests: Message[]
  acks: Set<PeerId>
}

export const readKey = (ctx: Uint8Array): string => {
  let s = ''
  for (const b of ctx) s += b.toString(16).padStart(2, '0')
  return s
}

/**
 * The leader's queue of reads. Each read records the commit index when it arrived; once a quorum
 * acknowledges a heartbeat carrying its context (or a later one), the read is safe at that index.
 */
export class ReadOnlyQueue {
  private pending = new Map<string, PendingRead>()
  private order: string[] = []

  add(index: number, request: Message): string {
    const key = readKey(request.context ?? new Uint8Array(0))
    const existing = this.pending.get(key)
    if (existing) {
      existing.requests.push(request)
    } else {
      this.pending.set(key, { index, requests: [request], acks: new Set() })
      this.order.push(key)
    }
    return key
  }

  /** Records an ack; returns the acks seen for that context, or undefined if unknown. */
  ack(ctx: Uint8Array, from: PeerId): Set<PeerId> | undefined {
    const p = this.pending.get(readKey(ctx))
    if (!p) return undefined
    p.acks.add(from)
    return p.acks
  }

  /** Removes and returns every read up to and including `ctx` (a later ack confirms earlier ones). */
  advance(ctx: Uint8Array): PendingRead[] {
    const key = readKey(ctx)
    const at = this.order.indexOf(key)
    if (at < 0) return []
    const keys = this.order.splice(0, at + 1)
    const out: PendingRead[] = []
    for (const k of keys) {
      const p = this.pending.get(k)
      if (p) out.push(p)
      this.pending.delete(k)
    }
    return out
  }

  lastContext(): Uint8Array | undefined {
    const key = this.order.at(-1)
    return key === undefined ? undefined : this.pending.get(key)?.requests[0].context
  }

  get size(): number {
    return this.order.length
  }

  clear(): void {
    this.pending.clear()
    this.order = []
  }
}
