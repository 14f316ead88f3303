import { decodeMessage, encodeMessage } from '../codec/message-codec.js'
import type { Message, PeerId } from '../raft/messages.js'
import type { PeerEvent, Transport } from '../transport/transport.js'
import type { Rng } from './rng.js'
import type { Scheduler } from './sim-storage.js'

export interface LinkFaults {
  /** Chance that a message is lost. */
  drop: number
  /** Chance that a message is delivered twice. */
  duplicate: number
  minDelay: number
  maxDelay: number
}

export const CALM: LinkFaults = { drop: 0, duplicate: 0, minDelay: 1, maxDelay: 5 }

/**
 * The simulated network: every message goes through the wire codec (no object is shared between
 * peers) and is delivered by the event queue after a drawn delay, possibly lost, duplicated or
 * reordered. `blocked` holds one-way cut links `from>to`. A paused peer's traffic waits.
 */
export class SimNetwork {
  faults: LinkFaults = CALM
  readonly blocked = new Set<string>()
  private readonly endpoints = new Map<PeerId, SimEndpoint>()
  /** Peers whose process is paused: their traffic in both directions waits for the resume. */
  private readonly paused = new Map<PeerId, (() => void)[]>()
  sent = 0

  constructor(
    private readonly sched: Scheduler,
    private readonly rng: Rng,
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
    if (this.blocked.has(`${m.from}>${m.to}`) || this.rng.chance(f.drop)) return
    const bytes = encodeMessage(m)
    const copies = this.rng.chance(f.duplicate) ? 2 : 1
    for (let i = 0; i < copies; i++) {
      const delay = f.minDelay + this.rng.next() * (f.maxDelay - f.minDelay)
      this.sched.at(this.sched.now + delay, () => this.arrive(m.to, bytes))
    }
  }

  private arrive(to: PeerId, bytes: Uint8Array): void {
    const heldIn = this.paused.get(to)
    if (heldIn) {
      heldIn.push(() => this.arrive(to, bytes))
      return
    }
    this.endpoints.get(to)?.receive(decodeMessage(bytes))
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
