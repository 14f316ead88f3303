import type { Message, PeerId } from './messages.js'

/** A read request waiting for the leader to confirm it still leads (ReadIndex, Raft thesis §6.4). */
interface PendingRead {
  index: number
  request: Message
  /** The context this read's heartbeats carry. */
  ctx: Uint8Array
  acks: Set<PeerId>
}

export const readKey = (ctx: Uint8Array): string => {
  let s = ''
  for (const b of ctx) s += b.toString(16).padStart(2, '0')
  return s
}

const HEARTBEAT_TAG = 0xfd

/**
 * The leader's queue of reads. Each read records the commit index when it arrived and gets a
 * heartbeat context of the leader's own making: two requests with the same context (a peer that
 * restarted, or two peers that clash) stay two reads, each answered at its own index. Once a
 * quorum acknowledges a heartbeat carrying a read's context (or a later one), it is safe.
 */
export class ReadOnlyQueue {
  private pending = new Map<string, PendingRead>()
  private order: string[] = []
  private seq = 0

  /** Queues a read; returns the context its heartbeats carry. */
  add(index: number, request: Message): Uint8Array {
    const ctx = new Uint8Array(9)
    ctx[0] = HEARTBEAT_TAG
    new DataView(ctx.buffer).setFloat64(1, ++this.seq)
    const key = readKey(ctx)
    this.pending.set(key, { index, request, ctx, acks: new Set() })
    this.order.push(key)
    return ctx
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
    return key === undefined ? undefined : this.pending.get(key)?.ctx
  }

  get size(): number {
    return this.order.length
  }

  clear(): void {
    this.pending.clear()
    this.order = []
  }
}
