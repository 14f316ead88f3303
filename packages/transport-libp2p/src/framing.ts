import { FrameError } from './errors.js'

/**
 * Frames are `varint(length) ++ payload` (unsigned LEB128, as libp2p's own length-prefixed
 * protocols). Hand-written rather than `it-length-prefixed`: libp2p 3 streams push chunks as
 * events, so a synchronous push decoder that checks the cap *before* buffering a body is both
 * simpler and easy to fuzz as a pure function.
 */

const EMPTY = new Uint8Array(0)

/**
 * A frame may arrive in up to FRAGMENT_ALLOWANCE chunks plus one per MIN_CHUNK_BYTES of it:
 * any TCP, QUIC or WebRTC path (16 KiB messages) splits it far less, and a 1-byte-chunk flood
 * is cut off early: yamux writes a window update back for every data frame it takes, so each
 * piece let through costs the victim an encrypted write.
 */
const FRAGMENT_ALLOWANCE = 16
const MIN_CHUNK_BYTES = 512

/** A varint for lengths below 2^35 takes at most 5 bytes; more is malformed. */
const MAX_VARINT_BYTES = 5

/** The length prefix of a frame whose payload is `n` bytes. */
export function encodeLength(n: number): Uint8Array {
  let bytes = 1
  for (let v = n; v >= 0x80; v = Math.floor(v / 128)) bytes++
  const out = new Uint8Array(bytes)
  let i = 0
  while (n >= 0x80) {
    out[i++] = (n & 0x7f) | 0x80
    n = Math.floor(n / 128)
  }
  out[i] = n
  return out
}

/** Prefixes are cut from a shared slab: one allocation per thousands of frames, not one each. */
const PREFIX_SLAB_BYTES = 16 * 1024
let prefixSlab = new Uint8Array(PREFIX_SLAB_BYTES)
let prefixPos = 0

/** `encodeLength(n)` as a view into a shared slab (never overwritten once handed out). */
export function lengthPrefix(n: number): Uint8Array {
  if (prefixPos + MAX_VARINT_BYTES > PREFIX_SLAB_BYTES) {
    prefixSlab = new Uint8Array(PREFIX_SLAB_BYTES)
    prefixPos = 0
  }
  const start = prefixPos
  while (n >= 0x80) {
    prefixSlab[prefixPos++] = (n & 0x7f) | 0x80
    n = Math.floor(n / 128)
  }
  prefixSlab[prefixPos++] = n
  return prefixSlab.subarray(start, prefixPos)
}

export function encodeFrame(payload: Uint8Array): Uint8Array {
  const header = encodeLength(payload.byteLength)
  const out = new Uint8Array(header.byteLength + payload.byteLength)
  out.set(header)
  out.set(payload, header.byteLength)
  return out
}

/**
 * Splits a byte stream into frame payloads. `push` returns the frames completed by a chunk and
 * throws FrameError on a length over `maxFrameBytes`, an overlong varint or an empty frame;
 * after an error the decoder must be discarded with its stream.
 */
export class FrameDecoder {
  /** Chunks from `head` on are unread; consumed ones are dropped in bulk, not one by one. */
  private chunks: Uint8Array[] = []
  private head = 0
  /** Bytes of chunks[head] already consumed: advancing it costs no new view per frame. */
  private offset = 0
  private buffered = 0
  /** Length of the frame being read, once its header is complete. */
  private expected = -1

  /** Chunks held for the frame being assembled (see FRAGMENT_ALLOWANCE). */
  private pendingChunks = 0

  /** `minChunkBytes` 0 turns the fragmentation guard off (tests of the decoder alone). */
  constructor(
    readonly maxFrameBytes: number,
    private readonly minChunkBytes = MIN_CHUNK_BYTES,
  ) {}

  /** Bytes held for an incomplete frame. */
  get pendingBytes(): number {
    return this.buffered
  }

  push(chunk: Uint8Array): Uint8Array[] {
    if (chunk.byteLength > 0) {
      this.chunks.push(chunk)
      this.buffered += chunk.byteLength
      // Every chunk costs the muxer and the event loop far more than its bytes: a frame cut
      // into 1-byte pieces is an attack, not a slow link (our senders write whole batches).
      if (++this.pendingChunks > FRAGMENT_ALLOWANCE + this.buffered / this.minChunkBytes) {
        throw new FrameError('ERR_FRAME_FRAGMENTED', `frame arrives in ${this.pendingChunks} pieces`)
      }
    }
    const frames: Uint8Array[] = []
    for (;;) {
      if (this.expected < 0 && !this.readHeader()) break
      if (this.buffered < this.expected) break
      frames.push(this.take(this.expected))
      this.expected = -1
    }
    if (frames.length > 0) this.pendingChunks = this.chunks.length - this.head
    return frames
  }

  /** Reads the length varint if it is complete; checks it against the cap at once. */
  private readHeader(): boolean {
    let value = 0
    let scale = 1
    let read = 0
    for (let c = this.head; c < this.chunks.length; c++) {
      const chunk = this.chunks[c]
      for (let i = c === this.head ? this.offset : 0; i < chunk.byteLength; i++) {
        const byte = chunk[i]
        value += (byte & 0x7f) * scale
        scale *= 128
        read++
        if (value > this.maxFrameBytes) {
          throw new FrameError(
            'ERR_FRAME_TOO_LARGE',
            `frame length exceeds maxFrameBytes ${this.maxFrameBytes}`,
          )
        }
        if ((byte & 0x80) === 0) {
          if (value === 0) throw new FrameError('ERR_FRAME_EMPTY', 'frame length is zero')
          this.skip(read)
          this.expected = value
          return true
        }
        if (read >= MAX_VARINT_BYTES) throw new FrameError('ERR_FRAME_LENGTH', 'frame length varint too long')
      }
    }
    return false
  }

  /**
   * Drops the first `n` buffered bytes. Consumed chunks are released by advancing `head` and
   * compacting once half the list is consumed: `shift()` per chunk made a frame sent as
   * thousands of 1-byte chunks cost quadratic time.
   */
  private skip(n: number): void {
    this.buffered -= n
    while (n > 0) {
      const left = this.chunks[this.head].byteLength - this.offset
      if (n < left) {
        this.offset += n
        break
      }
      n -= left
      this.chunks[this.head++] = EMPTY
      this.offset = 0
    }
    if (this.head === this.chunks.length) {
      this.chunks = []
      this.head = 0
    } else if (this.head > 32 && this.head * 2 > this.chunks.length) {
      this.chunks = this.chunks.slice(this.head)
      this.head = 0
    }
  }

  /** Removes and returns the first `n` buffered bytes (a view when they lie in one chunk). */
  private take(n: number): Uint8Array {
    const first = this.chunks[this.head]
    let out: Uint8Array
    if (first.byteLength - this.offset >= n) {
      out = first.subarray(this.offset, this.offset + n)
    } else {
      out = new Uint8Array(n)
      let at = 0
      for (let c = this.head; at < n; c++) {
        const chunk = this.chunks[c]
        const from = c === this.head ? this.offset : 0
        const part = Math.min(chunk.byteLength - from, n - at)
        out.set(chunk.subarray(from, from + part), at)
        at += part
      }
    }
    this.skip(n)
    return out
  }
}
