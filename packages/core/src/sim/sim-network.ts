import { decodeMessage, encodeMessage } from '../codec/message-codec.js'
import { type Message, MessageType, type PeerId } from '../raft/messages.js'
import type { Raft } from '../raft/raft.js'
import type { PeerEvent, Transport } from '../transport/transport.js'
import { type DelayRule, extraDelay, LinkBlocks, type NetworkFaults } from './fault-world.js'
import { sendPaperTwin } from './paper-heartbeat.js'
import type { Rng } from './rng.js'
import type { Scheduler } from './sim-storage.js'

export const CALM: NetworkFaults = { drop: 0, duplicate: 0, minDelay: 1, maxDelay: 5 }

/**
 * The simulated network: every message goes through the wire codec (no object is shared between
 * peers) and is delivered by the event queue after a drawn delay, possibly lost, duplicated or
 * reordered. `blocked` holds one-way cut links `from>to`. A paused peer's traffic waits.
 */
export class SimNetwork {
  faults: NetworkFaults = CALM
  readonly blocked = new LinkBlocks()
  /** Extra delays for matching messages (slow links around transfers, restarts...). */
  delays: DelayRule[] = []
  private readonly endpoints = new Map<PeerId, SimEndpoint>()
  /** Sees each message as it is delivered, with when it was sent and the receiver's run then. */
  onDeliver: ((m: Message, sentAt: number, sentGen: number) => void) | null = null
  /** Peers whose process is paused: their traffic in both directions waits for the resume. */
  private readonly paused = new Map<PeerId, (() => void)[]>()
  sent = 0
  /** The running Raft of a peer, for the heartbeats of Raft's Figure 2 (paper-heartbeat.ts). */
  raftOf: ((id: PeerId) => Raft | undefined) | null = null

  constructor(
    private readonly sched: Scheduler,
    private readonly rng: Rng,
    /** A slow peer's messages take this much longer, both ways. */
    private readonly slowOf: (id: PeerId) => number = () => 0,
    /** The receiver's run (bumped at each restart), to tell replies to an earlier run. */
    private readonly genOf: (id: PeerId) => number = () => 0,
  ) {}

  /** A fresh endpoint for `id` (a restart): the previous one is closed. */
  endpoint(id: PeerId): SimEndpoint {
    this.endpoints.get(id)?.closeNow()
    const e = new SimEndpoint(id, this)
    this.endpoints.set(id, e)
    return e
  }

  pause(id: PeerId): void {
    if (!this.paused.has(id)) this.paused.set(id, [])
  }

  resume(id: PeerId): void {
    const held = this.paused.get(id)
    this.paused.delete(id)
    for (const fn of held ?? []) fn()
  }

  isPaused(id: PeerId): boolean {
    return this.paused.has(id)
  }

  /** @internal */
  send(m: Message): void {
    const heldOut = this.paused.get(m.from)
    if (heldOut) {
      heldOut.push(() => this.send(m))
      return
    }
    this.sent++
    const f = this.faults
    sendPaperTwin(
      m,
      f.paperHeartbeat,
      this.rng,
      (id) => this.raftOf?.(id),
      (twin) => this.send(twin),
    )
    if (this.blocked.has(`${m.from}>${m.to}`) || this.rng.chance(f.drop)) return
    const bytes = encodeMessage(m)
    const now = this.sched.now
    const gen = this.genOf(m.to)
    // Bound, not a named arrow: tsx's keepNames would wrap every one of these in a helper call.
    const deliver = this.arrive.bind(this, m.to, bytes, now, gen)
    if (this.delays.length > 16) this.delays = this.delays.filter((d) => d.until >= now)
    const copies = this.rng.chance(f.duplicate) ? 2 : 1
    for (let i = 0; i < copies; i++) {
      let delay = f.minDelay + this.rng.next() * (f.maxDelay - f.minDelay)
      delay += this.slowOf(m.from) + this.slowOf(m.to)
      if (this.delays.length > 0) delay += extraDelay(this.delays, m, now, () => this.rng.next())
      this.sched.at(now + delay, deliver)
    }
    // A stale duplicate: the same append once more, long after, over whatever the log holds then.
    if (f.replay && m.type === MessageType.App && this.rng.chance(f.replay))
      this.sched.at(now + 20 + this.rng.next() * 230, deliver)
  }

  private arrive(to: PeerId, bytes: Uint8Array, sentAt: number, sentGen: number): void {
    const heldIn = this.paused.get(to)
    if (heldIn) {
      heldIn.push(() => this.arrive(to, bytes, sentAt, sentGen))
      return
    }
    const endpoint = this.endpoints.get(to)
    if (!endpoint) return
    const m = decodeMessage(bytes)
    this.onDeliver?.(m, sentAt, sentGen)
    endpoint.receive(m)
  }
}

export class SimEndpoint implements Transport {
  private handler: (m: Message) => void = () => {}
  private closed = false

  constructor(
    readonly localId: PeerId,
    private readonly net: SimNetwork,
  ) {}

  send(message: Message): boolean {
    if (this.closed) return false
    this.net.send(message)
    return true
  }

  onMessage(handler: (message: Message) => void): void {
    this.handler = handler
  }

  onPeerEvent(_handler: (event: PeerEvent) => void): void {}

  async close(): Promise<void> {
    this.closed = true
  }

  closeNow(): void {
    this.closed = true
  }

  /** @internal */
  receive(m: Message): void {
    if (!this.closed) this.handler(m)
  }
}
