import type { Stream } from '@libp2p/interface'
import { HIGH_WATER_BYTES, LOW_WATER_BYTES } from '../src/peer-link.js'

/**
 * Resolves once the stream holds at most `low` unsent bytes. The bench's raw baseline cannot use
 * `onDrain()`: in libp2p 3 (@libp2p/utils 7.4) its promise stays resolved after the first
 * 'drain', so a loop awaiting it stops waiting and buffers the whole run (64 MiB of 64 KiB
 * writes, which QUIC then copies into one write): raw figures slower than the stream can go.
 */
export async function drainedTo(stream: Stream, low: number): Promise<void> {
  while (stream.writeBufferLength > low && stream.writeStatus === 'writable') {
    await new Promise<void>((resolve) => {
      const done = (): void => {
        stream.removeEventListener('drain', done)
        stream.removeEventListener('idle', done)
        stream.removeEventListener('close', done)
        resolve()
      }
      stream.addEventListener('drain', done)
      stream.addEventListener('idle', done)
      stream.addEventListener('close', done)
    })
    await Promise.resolve()
  }
}

/** Raw writes of `bytes` each, under the same bound on unsent bytes as our transport's streams. */
export async function rawSend(stream: Stream, count: number, bytes: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    stream.send(new Uint8Array(bytes))
    if (stream.writeBufferLength > HIGH_WATER_BYTES) await drainedTo(stream, LOW_WATER_BYTES)
  }
}
