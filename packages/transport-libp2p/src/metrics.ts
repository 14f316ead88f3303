import { type InvalidMessageReason, MessageType } from '@flotilla/core'

/** Why a frame or message was dropped. */
export type DropReason =
  /** Outgoing queue for the peer was full. */
  | 'queue-full'
  /** Outgoing message larger than the frame cap. */
  | 'too-large'
  /** The stream or the peer could not be reached; the queued frames were discarded. */
  | 'unreachable'
  /** Sent after close() or to a malformed peer id. */
  | 'closed'
  /** Incoming stream or frame from a PeerId that is not a member; the stream is reset. */
  | 'not-member'
  /** Incoming message that failed validation (reasons in `invalid`); the stream goes on. */
  | 'invalid'
  /** The message handler threw; counted and swallowed so that the stream loop goes on. */
  | 'handler-error'
  /** Incoming frame whose `from` is not the authenticated remote PeerId, or `to` is not us. */
  | 'misaddressed'
  /** Incoming frame that is not a Raft message (CodecError); its stream is closed. */
  | 'malformed'
  /** Incoming length prefix over the cap, overlong or zero; its stream is closed. */
  | 'oversized'
  /** Incoming frame cut into far more pieces than a network makes (a 1-byte flood); closed. */
  | 'fragmented'

const TYPE_NAMES = Object.fromEntries(Object.entries(MessageType).map(([k, v]) => [v, k])) as Record<
  number,
  string
>

/** Bytes are Raft message bytes (the CBOR payload of each frame, without its length prefix). */
export interface TransportStats {
  framesSent: Record<string, number>
  bytesSent: Record<string, number>
  framesReceived: Record<string, number>
  bytesReceived: Record<string, number>
  drops: Record<DropReason, number>
  /** Messages refused by validation, by reason. */
  invalid: Partial<Record<InvalidMessageReason, number>>
  /** Streams closed because of a bad frame. */
  streamsClosedOnError: number
  reconnects: number
  /** Largest per-peer outgoing queue seen, in frames and bytes. */
  maxQueuedFrames: number
  maxQueuedBytes: number
}

export class Counters {
  private readonly s: TransportStats = {
    framesSent: {},
    bytesSent: {},
    framesReceived: {},
    bytesReceived: {},
    drops: {
      'queue-full': 0,
      'too-large': 0,
      unreachable: 0,
      closed: 0,
      'not-member': 0,
      invalid: 0,
      'handler-error': 0,
      misaddressed: 0,
      malformed: 0,
      oversized: 0,
      fragmented: 0,
    },
    invalid: {},
    streamsClosedOnError: 0,
    reconnects: 0,
    maxQueuedFrames: 0,
    maxQueuedBytes: 0,
  }

  sent(type: number, bytes: number): void {
    const name = TYPE_NAMES[type] ?? 'unknown'
    this.s.framesSent[name] = (this.s.framesSent[name] ?? 0) + 1
    this.s.bytesSent[name] = (this.s.bytesSent[name] ?? 0) + bytes
  }

  received(type: number, bytes: number): void {
    const name = TYPE_NAMES[type] ?? 'unknown'
    this.s.framesReceived[name] = (this.s.framesReceived[name] ?? 0) + 1
    this.s.bytesReceived[name] = (this.s.bytesReceived[name] ?? 0) + bytes
  }

  drop(reason: DropReason, n = 1): void {
    this.s.drops[reason] += n
  }

  invalid(reason: InvalidMessageReason): void {
    this.s.drops.invalid++
    this.s.invalid[reason] = (this.s.invalid[reason] ?? 0) + 1
  }

  streamClosedOnError(): void {
    this.s.streamsClosedOnError++
  }

  reconnect(): void {
    this.s.reconnects++
  }

  queueDepth(frames: number, bytes: number): void {
    if (frames > this.s.maxQueuedFrames) this.s.maxQueuedFrames = frames
    if (bytes > this.s.maxQueuedBytes) this.s.maxQueuedBytes = bytes
  }

  /** A deep copy, safe to keep. */
  snapshot(): TransportStats {
    return structuredClone(this.s)
  }
}
