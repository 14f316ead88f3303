// Storage and the wire re-cut a snapshot into pieces of their own, so each state-machine chunk
// travels behind its length (4 bytes, big-endian). Both directions stream: a snapshot is never
// whole in memory.

import { concatBytes } from '../bytes.js'
import { PeerError } from './errors.js'

/** Frames state-machine chunks as they are produced. */
export function* frame(chunks: Iterable<Uint8Array>): Generator<Uint8Array> {
  for (const c of chunks) {
    const prefix = new Uint8Array(4)
    new DataView(prefix.buffer).setUint32(0, c.length)
    yield prefix
    yield c
  }
}

/** The state-machine chunks of a framed stream cut anywhere; throws on a truncated one. */
export async function* unframe(
  pieces: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
): AsyncGenerator<Uint8Array> {
  const queue = new ByteQueue()
  let at = 0
  let length = -1
  for await (const piece of pieces) {
    queue.push(piece)
    for (;;) {
      if (length < 0) {
        if (queue.size < 4) break
        const prefix = queue.take(4)
        length = new DataView(prefix.buffer, prefix.byteOffset, 4).getUint32(0)
        at += 4
      }
      if (queue.size < length) break
      yield queue.take(length)
      at += length
      length = -1
    }
  }
  if (length >= 0) throw new PeerError('ERR_FAILED', `snapshot chunk at byte ${at} runs past the end`)
  if (queue.size > 0) throw new PeerError('ERR_FAILED', `snapshot is truncated at byte ${at}`)
}

const EMPTY = new Uint8Array(0)

/** Bytes queued in pieces; taking never copies more than the bytes taken. */
class ByteQueue {
  private parts: Uint8Array[] = []
  /** Index of the first unread part, and the bytes already read from it. */
  private head = 0
  private skip = 0
  size = 0

  push(piece: Uint8Array): void {
    if (piece.length === 0) return
    this.parts.push(piece)
    this.size += piece.length
  }

  take(n: number): Uint8Array {
    const out: Uint8Array[] = []
    let need = n
    while (need > 0) {
      const part = this.parts[this.head]
      const available = part.length - this.skip
      const used = Math.min(available, need)
      out.push(part.subarray(this.skip, this.skip + used))
      need -= used
      this.skip += used
      if (this.skip === part.length) {
        // Let go of a read piece at once: pieces may be a storage read each.
        this.parts[this.head++] = EMPTY
        this.skip = 0
      }
    }
    if (this.head > 64) {
      this.parts = this.parts.slice(this.head)
      this.head = 0
    }
    this.size -= n
    return out.length === 0 ? EMPTY : concatBytes(out)
  }
}
