import { CodecError, decodeMessage, encodeMessage, type Message } from '@flotilla/core'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { encodeFrame, FrameDecoder, FrameError } from '../src/index.js'

const CAP = 4096

/** Cuts `bytes` at the given offsets into a list of chunks. */
function split(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const at = [...new Set(cuts.map((c) => c % (bytes.byteLength + 1)))].sort((a, b) => a - b)
  const out: Uint8Array[] = []
  let prev = 0
  for (const c of [...at, bytes.byteLength]) {
    out.push(bytes.subarray(prev, c))
    prev = c
  }
  return out
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0))
  let i = 0
  for (const p of parts) {
    out.set(p, i)
    i += p.byteLength
  }
  return out
}

/** Feeds chunks to a fresh decoder and decodes every frame as a Raft message. */
function consume(chunks: Uint8Array[]): { frames: number; error?: unknown } {
  const decoder = new FrameDecoder(CAP)
  let frames = 0
  try {
    for (const c of chunks) {
      for (const f of decoder.push(c)) {
        frames++
        try {
          decodeMessage(f)
        } catch (err) {
          if (!(err instanceof CodecError)) throw err
        }
      }
      // Never more than one frame's worth held, whatever the input.
      expect(decoder.pendingBytes).toBeLessThanOrEqual(CAP + 5)
    }
  } catch (error) {
    return { frames, error }
  }
  return { frames }
}

const message = fc.record({
  type: fc.integer({ min: 0, max: 17 }),
  from: fc.string({ maxLength: 60 }),
  to: fc.string({ maxLength: 60 }),
  term: fc.nat(),
  index: fc.option(fc.nat(), { nil: undefined }),
  commit: fc.option(fc.nat(), { nil: undefined }),
  context: fc.option(fc.uint8Array({ maxLength: 64 }), { nil: undefined }),
}) as fc.Arbitrary<Message>

describe('frame decoder', () => {
  it('gives back every payload, however the byte stream is cut', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 600 }), { maxLength: 20 }),
        fc.array(fc.nat(), { maxLength: 30 }),
        (payloads, cuts) => {
          const decoder = new FrameDecoder(CAP)
          const out = split(concat(payloads.map(encodeFrame)), cuts).flatMap((c) => decoder.push(c))
          expect(out).toEqual(payloads)
          expect(decoder.pendingBytes).toBe(0)
        },
      ),
      { numRuns: 300 },
    )
  })

  it('gives back every payload fed one byte at a time (fragmentation guard off)', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ minLength: 1, maxLength: 300 }), { maxLength: 8 }), (payloads) => {
        const decoder = new FrameDecoder(CAP, 0)
        const bytes = concat(payloads.map(encodeFrame))
        const out: Uint8Array[] = []
        for (let i = 0; i < bytes.byteLength; i++) out.push(...decoder.push(bytes.subarray(i, i + 1)))
        expect(out).toEqual(payloads)
      }),
      { numRuns: 200 },
    )
  })

  // Each 1-byte muxer frame costs the victim a window update written back (yamux answers every
  // data frame): the guard must cut such a flood within a couple of dozen pieces.
  it('cuts off a frame that arrives in 1-byte pieces within 24 of them', () => {
    const bytes = encodeFrame(new Uint8Array(4096))
    const decoder = new FrameDecoder(CAP)
    let fed = 0
    const feed = () => {
      for (; fed < bytes.byteLength; fed++) decoder.push(bytes.subarray(fed, fed + 1))
    }
    expect(feed).toThrow(FrameError)
    expect(fed).toBeLessThan(24)
  })

  it('takes a frame in a few large pieces, as TCP, QUIC and WebRTC deliver it', () => {
    const payload = new Uint8Array(256 * 1024).map((_, i) => i % 253)
    const bytes = encodeFrame(payload)
    const decoder = new FrameDecoder(1024 * 1024)
    const out: Uint8Array[] = []
    // WebRTC data channels carry 16 KiB messages: the most pieces an honest frame comes in.
    for (let at = 0; at < bytes.byteLength; at += 16 * 1024)
      out.push(...decoder.push(bytes.subarray(at, at + 16 * 1024)))
    expect(out).toEqual([payload])
  })

  // The hostile case of issue 15: one frame as hundreds of thousands of 1-byte chunks. With a
  // shift() per consumed chunk this took minutes (quadratic); linear, it takes well under a
  // second, far inside the test's time limit.
  it('decodes a 300,000-byte frame sent as 1-byte chunks', { timeout: 30_000 }, () => {
    const payload = new Uint8Array(300_000).map((_, i) => i % 251)
    const bytes = encodeFrame(payload)
    const decoder = new FrameDecoder(1024 * 1024, 0)
    const out: Uint8Array[] = []
    for (let i = 0; i < bytes.byteLength; i++) out.push(...decoder.push(bytes.subarray(i, i + 1)))
    expect(out).toHaveLength(1)
    expect(Buffer.compare(out[0], payload)).toBe(0)
    expect(decoder.pendingBytes).toBe(0)
  })

  it('refuses a frame cut into more pieces than any network path makes', () => {
    const bytes = encodeFrame(new Uint8Array(100_000))
    const decoder = new FrameDecoder(CAP * 100)
    let pieces = 0
    expect(() => {
      for (; pieces < bytes.byteLength; pieces++) decoder.push(bytes.subarray(pieces, pieces + 1))
    }).toThrowError(/pieces/)
    expect(pieces).toBeLessThan(100)
    // The same frame in 600-byte pieces (smaller than a QUIC packet) is fine.
    const ok = new FrameDecoder(CAP * 100)
    const out: Uint8Array[] = []
    for (let i = 0; i < bytes.byteLength; i += 600) out.push(...ok.push(bytes.subarray(i, i + 600)))
    expect(out).toHaveLength(1)
  })

  it('encodes lengths as LEB128 varints', () => {
    expect([...encodeFrame(new Uint8Array(1)).subarray(0, 1)]).toEqual([1])
    expect([...encodeFrame(new Uint8Array(300)).subarray(0, 2)]).toEqual([0xac, 0x02])
    expect(encodeFrame(new Uint8Array(70_000)).byteLength).toBe(70_003)
  })

  it('rejects an oversized length before its body arrives', () => {
    const decoder = new FrameDecoder(CAP)
    const header = encodeFrame(new Uint8Array(CAP + 1)).subarray(0, 2)
    expect(() => decoder.push(header)).toThrowError(FrameError)
    try {
      new FrameDecoder(CAP).push(header)
    } catch (err) {
      expect((err as FrameError).code).toBe('ERR_FRAME_TOO_LARGE')
    }
  })

  it('rejects an empty frame and an overlong varint', () => {
    expect(() => new FrameDecoder(CAP).push(new Uint8Array([0]))).toThrowError(/zero/)
    const big = new FrameDecoder(2 ** 40)
    expect(() => big.push(new Uint8Array([0x80, 0x80, 0x80, 0x80, 0x80, 0x01]))).toThrowError(/too long/)
  })

  it('throws nothing but FrameError or CodecError on random bytes', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 2048 }), { maxLength: 10 }), (chunks) => {
        const { error } = consume(chunks)
        if (error !== undefined) expect(error).toBeInstanceOf(FrameError)
      }),
      { numRuns: 500 },
    )
  })

  it('throws nothing but FrameError or CodecError on mutated valid streams', () => {
    fc.assert(
      fc.property(
        fc.array(message, { minLength: 1, maxLength: 8 }),
        fc.array(fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }), { maxLength: 12 }),
        fc.array(fc.record({ at: fc.nat(), len: fc.integer({ min: 1, max: 16 }) }), { maxLength: 3 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (messages, flips, deletions, cuts) => {
          let bytes = concat(messages.map((m) => encodeFrame(encodeMessage(m))))
          for (const f of flips) bytes[f.at % bytes.byteLength] = f.value
          for (const d of deletions) {
            const at = d.at % bytes.byteLength
            bytes = concat([bytes.subarray(0, at), bytes.subarray(at + d.len)])
            if (bytes.byteLength === 0) return
          }
          const { error } = consume(split(bytes, cuts))
          if (error !== undefined) expect(error).toBeInstanceOf(FrameError)
        },
      ),
      { numRuns: 1000 },
    )
  })
})
