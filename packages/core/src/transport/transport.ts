import type { Message, PeerId } from '../raft/messages.js'

export type PeerEvent = { peer: PeerId; connected: boolean }

/**
 * Carries Raft messages between peers (DESIGN §7). `send` never blocks and may drop: Raft
 * retries. Snapshot chunks (`MessageType.Snap`) travel apart from the rest so that a large
 * snapshot never delays heartbeats.
 */
export interface Transport {
  readonly localId: PeerId
  /** Queues `message` for `message.to`; false if it was dropped (queue full, peer unknown). */
  send(message: Message): boolean
  /** Incoming messages, already checked to come from a member. */
  onMessage(handler: (message: Message) => void): void
  onPeerEvent(handler: (event: PeerEvent) => void): void
  close(): Promise<void>
}
