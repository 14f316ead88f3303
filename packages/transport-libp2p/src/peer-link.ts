import type { Stream } from '@libp2p/interface'
import { Uint8ArrayList } from 'uint8arraylist'
import { lengthPrefix } from './framing.js'
import type { Counters } from './metrics.js'

export interface LinkLimits {
  /** Frames held per peer while the stream is busy or down; beyond it `send` drops. */
  maxQueuedFrames: number
  maxQueuedBytes: number
}

export interface BackOff {
  initialMs: number
  maxMs: number
  /** After this many failed dials in a row the queued frames are dropped as 'unreachable'. */
  discardAfterAttempts: number
}

/**
 * Bytes a stream may hold unsent before the pump waits, and the level it waits for. libp2p 3
 * streams buffer whatever `send()` is given, and 'drain' only means the muxer takes data again,
 * not that this stream's buffer emptied; so the pump bounds the stream's own buffer rather than
 * trusting `send()`'s result, else frames pile up unbounded behind a slow reader.
 */
export const HIGH_WATER_BYTES = 256 * 1024
export const LOW_WATER_BYTES = 64 * 1024
/**
 * Frames queued together leave in one write of at most this many bytes, and no more than
 * takes the stream's buffer to HIGH_WATER_BYTES: fewer, fuller muxer frames and native writes
 * (QUIC has one write in flight per stream) without raising the bound on unsent bytes.
 */
const BATCH_BYTES = 256 * 1024

/**
 * A frame kept as its length prefix and payload parts (large byte strings are the caller's own
 * arrays), joined only by the stream's writer.
 */
interface Queued {
  header: Uint8Array
  parts: Uint8Array[]
  /** Payload bytes (the parts' total). */
  bytes: number
  type: number
}

const size = (q: Queued): number => q.header.byteLength + q.bytes

/**
 * The sending half of one channel to one peer: a bounded queue drained into the current stream
 * as fast as the stream accepts (libp2p 3: `send()` false means wait for 'drain'). With no
 * stream it opens one, retrying with exponential back-off while frames are waiting.
 */
export class PeerLink {
  private readonly queue: Queued[] = []
  private head = 0
  private queuedBytes = 0
  private stream: Stream | undefined
  /** Streams this end opened. */
  private readonly ours = new WeakSet<Stream>()
  private pumping = false
  private dialing = false
  private attempt = 0
  private retryTimer: ReturnType<typeof setTimeout> | undefined
  private closed = false
  /** A stream existed before: the next one we open is a reconnection. */
  private hadStream = false
  /** When the current stream was taken into use. */
  private usedAt = 0
  /** Wakes a pump waiting for its stream to drain. */
  private wake: (() => void) | undefined

  constructor(
    readonly peer: string,
    private readonly limits: LinkLimits,
    private readonly backOff: BackOff,
    private readonly counters: Counters,
    private readonly open: () => Promise<Stream>,
    /** The remote's PeerId sorts before ours: its stream wins a simultaneous open. */
    private readonly remoteWins: boolean,
  ) {}

  get queuedFrames(): number {
    return this.queue.length - this.head
  }

  /** Whether a frame can be queued at all; lets the caller skip encoding one that would drop. */
  get full(): boolean {
    return this.closed || this.queuedFrames >= this.limits.maxQueuedFrames
  }

  /**
   * Queues one frame (the payload `parts`, `bytes` long in all, with its length prefix); false,
   * counted, if it would overflow.
   */
  enqueue(parts: Uint8Array[], bytes: number, type: number): boolean {
    if (this.closed) {
      this.counters.drop('closed')
      return false
    }
    const item: Queued = { header: lengthPrefix(bytes), parts, bytes, type }
    if (
      this.queuedFrames >= this.limits.maxQueuedFrames ||
      this.queuedBytes + size(item) > this.limits.maxQueuedBytes
    ) {
      this.counters.drop('queue-full')
      return false
    }
    this.queue.push(item)
    this.queuedBytes += size(item)
    this.counters.queueDepth(this.queuedFrames, this.queuedBytes)
    this.kick()
    return true
  }

  /**
   * Offers a stream the remote opened. One stream per pair: when both ends opened one at once,
   * both keep the stream opened by the peer with the smaller PeerId string.
   */
  offer(stream: Stream): void {
    if (this.closed) return
    const current = this.stream
    const currentIsOurs = current !== undefined && this.ours.has(current)
    if (current && current.writeStatus === 'writable' && currentIsOurs && !this.remoteWins) return
    this.use(stream, false)
    // Our own stream lost: finish writing what is on it; the remote reads it to its end.
    if (current && current !== stream && currentIsOurs) void current.close().catch(() => {})
  }

  private use(stream: Stream, ours: boolean): void {
    this.stream = stream
    this.wake?.()
    this.hadStream = true
    this.usedAt = Date.now()
    if (ours) this.ours.add(stream)
    stream.addEventListener('close', () => this.ended(stream))
    this.kick()
  }

  /** The current stream can no longer be written: open another, at once or after a back-off. */
  private ended(stream: Stream): void {
    if (this.stream !== stream) return
    this.stream = undefined
    // A stream reset soon after it opened (a peer whose gate refuses us) is a failed attempt:
    // back off, else both ends spin re-opening streams.
    const reset = stream.status === 'reset' || stream.status === 'aborted'
    if (reset && Date.now() - this.usedAt < this.backOff.maxMs) {
      this.failed()
    } else {
      this.attempt = 0
      this.kick()
    }
  }

  private kick(): void {
    if (this.closed || this.queuedFrames === 0) return
    if (this.stream) {
      if (!this.pumping) void this.pump(this.stream)
    } else if (!this.dialing && this.retryTimer === undefined) {
      void this.dial()
    }
  }

  private async pump(stream: Stream): Promise<void> {
    this.pumping = true
    // Start after the caller's synchronous burst (a Raft Ready sends many messages at once) so
    // that the burst leaves as one write.
    await Promise.resolve()
    try {
      while (this.queuedFrames > 0 && this.stream === stream && !this.closed) {
        if (stream.writeStatus !== 'writable') {
          this.ended(stream)
          break
        }
        stream.send(this.takeBatch(Math.min(BATCH_BYTES, HIGH_WATER_BYTES - stream.writeBufferLength)))
        if (stream.writeBufferLength > HIGH_WATER_BYTES) await this.drained(stream)
      }
    } catch {
      // The stream died under us.
      this.ended(stream)
    } finally {
      this.pumping = false
    }
    this.kick()
  }

  /**
   * Resolves once the stream's write buffer is down to LOW_WATER_BYTES, or the link has moved to
   * another stream or closed (a stream that cannot flush must not hold the pump); throws if the
   * stream stopped being writable.
   */
  private async drained(stream: Stream): Promise<void> {
    while (stream.writeBufferLength > LOW_WATER_BYTES && this.stream === stream && !this.closed) {
      if (stream.writeStatus !== 'writable') throw new Error('stream closed while draining')
      await new Promise<void>((resolve) => {
        const done = (): void => {
          stream.removeEventListener('idle', done)
          stream.removeEventListener('drain', done)
          stream.removeEventListener('close', done)
          this.wake = undefined
          resolve()
        }
        stream.addEventListener('idle', done)
        stream.addEventListener('drain', done)
        stream.addEventListener('close', done)
        this.wake = done
      })
      // On 'drain' the stream refills the muxer in a microtask: let it run before re-checking.
      await Promise.resolve()
    }
  }

  /**
   * Dequeues frames up to `budget` bytes (at least one) as one write: one muxer frame carries
   * many small Raft frames instead of one each.
   */
  private takeBatch(budget: number): Uint8ArrayList {
    const batch = new Uint8ArrayList()
    while (this.queuedFrames > 0) {
      const item = this.queue[this.head]
      const n = size(item)
      if (batch.byteLength > 0 && batch.byteLength + n > budget) break
      this.queue[this.head++] = undefined as unknown as Queued
      this.queuedBytes -= n
      this.counters.sent(item.type, item.bytes)
      // No copy here: the muxer frames (and noise encrypts) from the list.
      batch.append(item.header)
      for (const part of item.parts) batch.append(part)
    }
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head)
      this.head = 0
    }
    return batch
  }

  private async dial(): Promise<void> {
    this.dialing = true
    try {
      const stream = await this.open()
      if (this.closed) {
        stream.abort(new Error('transport closed'))
        return
      }
      const adopted = this.stream
      // The remote opened one while we dialled: keep one stream, the smaller PeerId's.
      if (adopted && adopted.writeStatus === 'writable' && this.remoteWins) {
        void stream.close().catch(() => {})
        return
      }
      if (this.hadStream) this.counters.reconnect()
      this.use(stream, true)
    } catch {
      // A stream that served for a while was a success: count failures afresh from there.
      if (this.hadStream && Date.now() - this.usedAt >= this.backOff.maxMs) this.attempt = 0
      this.failed()
    } finally {
      this.dialing = false
    }
  }

  /** One more failed attempt: retry after an exponential back-off, or give the frames up. */
  private failed(): void {
    if (this.closed || this.retryTimer !== undefined) return
    this.attempt++
    const base = Math.min(this.backOff.maxMs, this.backOff.initialMs * 2 ** (this.attempt - 1))
    // Jitter so that peers that lost each other at once do not re-dial in lock-step.
    const delay = base / 2 + Math.random() * (base / 2)
    // Raft retries on its own: stale frames for a peer that stays away are not worth keeping.
    if (this.attempt >= this.backOff.discardAfterAttempts) this.discard('unreachable')
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined
      this.kick()
    }, delay)
  }

  close(): void {
    this.closed = true
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer)
    this.retryTimer = undefined
    this.discard('closed')
    this.stream = undefined
    this.wake?.()
  }

  private discard(reason: 'closed' | 'unreachable'): void {
    if (this.queuedFrames > 0) this.counters.drop(reason, this.queuedFrames)
    this.queue.length = 0
    this.head = 0
    this.queuedBytes = 0
  }
}
