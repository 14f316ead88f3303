import type { Message, PeerId } from '../raft/messages.js'
import type { PeerEvent, Transport } from './transport.js'

/**
 * In-process transport: a hub connects endpoints. Delivery is asynchronous (a microtask) and in
 * order, as over a stream; the simulator has its own network with faults.
 */
export class MemoryNetwork {
  private readonly endpoints = new Map<PeerId, MemoryTransport>()

  endpoint(id: PeerId): MemoryTransport {
    if (this.endpoints.has(id)) throw new Error(`peer ${id} already has an endpoint`)
    const t = new MemoryTransport(id, this)
    for (const other of this.endpoints.values()) {
      other.emitPeer({ peer: id, connected: true })
      t.emitPeer({ peer: other.localId, connected: true })
    }
    this.endpoints.set(id, t)
    return t
  }

  /** @internal */
  deliver(message: Message): boolean {
    const target = this.endpoints.get(message.to)
    if (!target) return false
    queueMicrotask(() => target.receive(message))
    return true
  }

  /** @internal */
  remove(id: PeerId): void {
    this.endpoints.delete(id)
    for (const other of this.endpoints.values()) other.emitPeer({ peer: id, connected: false })
  }
}

export class MemoryTransport implements Transport {
  private messageHandler: (message: Message) => void = () => {}
  private peerHandler: (event: PeerEvent) => void = () => {}
  private closed = false

  constructor(
    readonly localId: PeerId,
    private readonly network: MemoryNetwork,
  ) {}

  send(message: Message): boolean {
    if (this.closed) return false
    return this.network.deliver(message)
  }

  onMessage(handler: (message: Message) => void): void {
    this.messageHandler = handler
  }

  onPeerEvent(handler: (event: PeerEvent) => void): void {
    this.peerHandler = handler
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.network.remove(this.localId)
  }

  /** @internal */
  receive(message: Message): void {
    if (!this.closed) this.messageHandler(message)
  }

  /** @internal */
  emitPeer(event: PeerEvent): void {
    if (!this.closed) this.peerHandler(event)
  }
}
