import {
  CodecError,
  DEFAULT_MESSAGE_LIMITS,
  decodeMessage,
  encodeMessageParts,
  type Message,
  type MessageLimits,
  MessageType,
  type PeerEvent,
  type Transport,
  validateMessage,
} from '@flotilla/core'
import type { Connection, Libp2p, PeerId, Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { FrameError, TransportError } from './errors.js'
import { FrameDecoder } from './framing.js'
import type { MembershipGate } from './gate.js'
import { Counters, type TransportStats } from './metrics.js'
import { type BackOff, type LinkLimits, PeerLink } from './peer-link.js'

export const RAFT_PROTOCOL = '/flotilla/raft/1.0.0'
/** Snapshot chunks travel on their own stream so that they never queue ahead of heartbeats. */
export const SNAPSHOT_PROTOCOL = '/flotilla/raft-snapshot/1.0.0'

/** Streams a peer may open per protocol on one connection: ours, theirs, and one being replaced. */
const MAX_INBOUND_STREAMS = 3

export interface Libp2pTransportOptions {
  /**
   * Raft streams are accepted only from PeerIds for which this returns true; others are reset
   * before a byte is read. Give `gate` instead to also refuse them at the connection level.
   */
  isMember?: (peerId: string) => boolean
  /** A membership gate (see `membershipGate`): used as `isMember` and attached to the node. */
  gate?: MembershipGate
  /** Limits every incoming message is validated against (core's `validateMessage`). */
  limits?: Partial<MessageLimits>
  /** Largest Raft frame sent or accepted (default 4 MiB). */
  maxFrameBytes?: number
  /** Largest snapshot-chunk frame (default 8 MiB). */
  maxSnapshotFrameBytes?: number
  /** Per-peer outgoing queue for Raft messages (default 4096 frames / 16 MiB). */
  queue?: Partial<LinkLimits>
  /** Per-peer outgoing queue for snapshot chunks (default 16 frames / 64 MiB). */
  snapshotQueue?: Partial<LinkLimits>
  /** Re-dial back-off (default 100 ms doubling to 5 s; queued frames dropped after 4 failures). */
  backOff?: Partial<BackOff>
  /** Time limit of one stream open, dial included (default 5 s: WebRTC dials can hang). */
  dialTimeoutMs?: number
  /** Run Raft over relayed (limited) connections too (default false: direct only). */
  allowLimitedConnections?: boolean
}

interface Channel {
  protocol: string
  maxFrameBytes: number
  limits: LinkLimits
  links: Map<string, PeerLink>
}

/** The Raft transport over libp2p (DESIGN §7). Build it with `createLibp2pTransport`. */
export class Libp2pTransport implements Transport {
  readonly localId: string
  private messageHandler: (message: Message) => void = () => {}
  private peerHandler: (event: PeerEvent) => void = () => {}
  private readonly counters = new Counters()
  private readonly raft: Channel
  private readonly snap: Channel
  private readonly backOff: BackOff
  private readonly dialTimeoutMs: number
  private readonly limited: boolean
  /** Every stream being read, so that close() can end them. */
  private readonly streams = new Set<Stream>()
  private readonly isMember: (peerId: string) => boolean
  private readonly limits: MessageLimits
  private readonly detachGate: () => void
  private closed = false

  private constructor(
    readonly node: Libp2p,
    options: Libp2pTransportOptions,
  ) {
    this.localId = node.peerId.toString()
    const { gate, isMember } = options
    if (!gate && !isMember)
      throw new TransportError('ERR_CONFIG', 'createLibp2pTransport needs isMember or gate')
    this.isMember = isMember ?? (gate as MembershipGate).isMember
    this.detachGate = gate ? gate.attach(node) : () => {}
    this.limits = { ...DEFAULT_MESSAGE_LIMITS, ...options.limits }
    const maxFrameBytes = options.maxFrameBytes ?? 4 * 1024 * 1024
    this.raft = {
      protocol: RAFT_PROTOCOL,
      maxFrameBytes,
      limits: { maxQueuedFrames: 4096, maxQueuedBytes: 16 * 1024 * 1024, ...options.queue },
      links: new Map(),
    }
    this.snap = {
      protocol: SNAPSHOT_PROTOCOL,
      maxFrameBytes: options.maxSnapshotFrameBytes ?? 8 * 1024 * 1024,
      limits: { maxQueuedFrames: 16, maxQueuedBytes: 64 * 1024 * 1024, ...options.snapshotQueue },
      links: new Map(),
    }
    this.backOff = { initialMs: 100, maxMs: 5000, discardAfterAttempts: 4, ...options.backOff }
    this.dialTimeoutMs = options.dialTimeoutMs ?? 5000
    this.limited = options.allowLimitedConnections ?? false
  }

  /** @internal use createLibp2pTransport */
  static async start(node: Libp2p, options: Libp2pTransportOptions): Promise<Libp2pTransport> {
    const t = new Libp2pTransport(node, options)
    await t.listen()
    return t
  }

  private async listen(): Promise<void> {
    for (const channel of [this.raft, this.snap]) {
      await this.node.handle(
        channel.protocol,
        (stream, connection) => this.accept(channel, stream, connection),
        {
          runOnLimitedConnection: this.limited,
          maxInboundStreams: MAX_INBOUND_STREAMS,
          maxOutboundStreams: MAX_INBOUND_STREAMS,
        },
      )
    }
    this.node.addEventListener('peer:connect', this.onConnect)
    this.node.addEventListener('peer:disconnect', this.onDisconnect)
  }

  private readonly onConnect = (e: CustomEvent<PeerId>): void => this.emitPeer(e.detail.toString(), true)
  private readonly onDisconnect = (e: CustomEvent<PeerId>): void => this.emitPeer(e.detail.toString(), false)

  private emitPeer(peer: string, connected: boolean): void {
    if (!this.closed && this.isMember(peer)) this.peerHandler({ peer, connected })
  }

  send(message: Message): boolean {
    if (this.closed) {
      this.counters.drop('closed')
      return false
    }
    const channel = message.type === MessageType.Snap ? this.snap : this.raft
    const link = this.link(channel, message.to)
    if (!link) return false
    if (link.full) return link.enqueue([], 0, message.type) // counts the drop, encodes nothing
    const parts = encodeMessageParts(message)
    let bytes = 0
    for (const p of parts) bytes += p.byteLength
    if (bytes > channel.maxFrameBytes) {
      this.counters.drop('too-large')
      return false
    }
    return link.enqueue(parts, bytes, message.type)
  }

  onMessage(handler: (message: Message) => void): void {
    this.messageHandler = handler
  }

  onPeerEvent(handler: (event: PeerEvent) => void): void {
    this.peerHandler = handler
  }

  /** Counters: frames and bytes by message type, drops by reason, queue high-water marks. */
  stats(): TransportStats {
    return this.counters.snapshot()
  }

  /** Frames waiting in the outgoing queue for `peer` (Raft channel). */
  queued(peer: string): number {
    return this.raft.links.get(peer)?.queuedFrames ?? 0
  }

  /** Closes our streams and handlers; the libp2p node itself belongs to the caller. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.detachGate()
    this.node.removeEventListener('peer:connect', this.onConnect)
    this.node.removeEventListener('peer:disconnect', this.onDisconnect)
    for (const channel of [this.raft, this.snap]) {
      for (const link of channel.links.values()) link.close()
      channel.links.clear()
    }
    await this.node.unhandle([RAFT_PROTOCOL, SNAPSHOT_PROTOCOL]).catch(() => {})
    for (const s of this.streams) s.abort(new TransportError('ERR_TRANSPORT_CLOSED', 'transport closed'))
    this.streams.clear()
  }

  private link(channel: Channel, peer: string): PeerLink | undefined {
    let link = channel.links.get(peer)
    if (link) return link
    let peerId: PeerId
    try {
      peerId = peerIdFromString(peer)
    } catch {
      this.counters.drop('closed')
      return undefined
    }
    const open = async (): Promise<Stream> => {
      const signal = AbortSignal.timeout(this.dialTimeoutMs)
      try {
        const stream = await this.node.dialProtocol(peerId, channel.protocol, {
          signal,
          runOnLimitedConnection: this.limited,
        })
        this.read(channel, stream, peer)
        return stream
      } catch (err) {
        // A connection that cannot open a stream in time is dead (a QUIC peer killed and
        // restarted, a WebRTC connection that failed after ICE): drop it so the retry dials anew.
        if (signal.aborted) for (const c of this.node.getConnections(peerId)) c.abort(err as Error)
        throw err
      }
    }
    link = new PeerLink(peer, channel.limits, this.backOff, this.counters, open, peer < this.localId)
    channel.links.set(peer, link)
    return link
  }

  private accept(channel: Channel, stream: Stream, connection: Connection): void {
    if (this.closed) {
      stream.abort(new TransportError('ERR_TRANSPORT_CLOSED', 'transport closed'))
      return
    }
    const peer = connection.remotePeer.toString()
    // Gate before buffering: a stranger's stream is reset before any of its bytes are read.
    if (!this.isMember(peer)) {
      this.counters.drop('not-member')
      stream.abort(new TransportError('ERR_NOT_MEMBER', `peer ${peer} is not a member`))
      return
    }
    this.read(channel, stream, peer)
    this.link(channel, peer)?.offer(stream)
  }

  /** Reads every stream, ours or theirs, to its end. */
  private read(channel: Channel, stream: Stream, peer: string): void {
    const decoder = new FrameDecoder(channel.maxFrameBytes)
    this.streams.add(stream)
    stream.addEventListener('close', () => this.streams.delete(stream))
    // Once the remote stops writing, let the stream go (if it was our sender, the link re-opens
    // one). The remote may have closed before this handler ran: check as well as listen.
    const remoteDone = (): void => {
      if (stream.writeStatus === 'writable') void stream.close().catch(() => {})
    }
    stream.addEventListener('remoteCloseWrite', remoteDone)
    if (stream.remoteWriteStatus === 'closed') queueMicrotask(remoteDone)
    stream.addEventListener('message', (e) => {
      if (this.closed) return
      // A peer removed from the membership loses its streams at its next frame.
      if (!this.isMember(peer)) {
        this.reject(
          stream,
          'not-member',
          new TransportError('ERR_NOT_MEMBER', `peer ${peer} is not a member`),
        )
        return
      }
      // A list's chunks go in one by one: flattening it first would copy every byte once more.
      const chunks = e.data instanceof Uint8Array ? [e.data] : e.data
      for (const chunk of chunks) {
        let frames: Uint8Array[]
        try {
          frames = decoder.push(chunk)
        } catch (err) {
          if (err instanceof FrameError && err.code === 'ERR_FRAME_FRAGMENTED') {
            // Every tiny muxer frame costs the event loop, on this stream or not: cut the
            // whole connection so that what is still in flight is never read.
            const carriers = this.node
              .getConnections(peerIdFromString(peer))
              .filter((c) => c.streams.includes(stream))
            this.reject(stream, 'fragmented', err)
            for (const c of carriers) c.abort(err)
          } else {
            this.reject(stream, 'oversized', err as Error)
          }
          return
        }
        for (const frame of frames) if (!this.deliver(stream, frame, peer)) return
      }
    })
  }

  /** Decodes, checks and hands on one frame; false if the stream was closed for it. */
  private deliver(stream: Stream, frame: Uint8Array, peer: string): boolean {
    let message: Message
    try {
      message = decodeMessage(frame)
    } catch (err) {
      this.reject(stream, 'malformed', err instanceof CodecError ? err : new CodecError(String(err)))
      return false
    }
    if (message.from !== peer || message.to !== this.localId) {
      this.counters.drop('misaddressed')
      return true
    }
    const invalid = validateMessage(message, this.limits)
    if (invalid) {
      this.counters.invalid(invalid.reason)
      return true
    }
    this.counters.received(message.type, frame.byteLength)
    try {
      this.messageHandler(message)
    } catch {
      // One message must not end the stream loop or, from an event listener, the process.
      this.counters.drop('handler-error')
    }
    return true
  }

  private reject(
    stream: Stream,
    reason: 'oversized' | 'fragmented' | 'malformed' | 'not-member',
    err: Error,
  ): void {
    this.counters.drop(reason)
    this.counters.streamClosedOnError()
    stream.abort(err)
  }
}

/**
 * Starts the Raft transport on a started libp2p node. Raft peer ids are the nodes' PeerId
 * strings; tell libp2p how to reach a peer (peerStore, or a connection) before sending to it.
 */
export function createLibp2pTransport(
  node: Libp2p,
  options: Libp2pTransportOptions,
): Promise<Libp2pTransport> {
  return Libp2pTransport.start(node, options)
}
