import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { readMessage } from '../src/codec/message-reader.js'
import { LARGE_BYTES, writeMessageParts } from '../src/codec/message-writer.js'
import {
  decodeMessage,
  decodeMessageCbor,
  encodeMessage,
  encodeMessageCbor,
  encodeMessageParts,
  type Message,
  MessageType,
} from '../src/index.js'

const concat = (parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.byteLength
  }
  return out
}

/** cbor-x hands back Node Buffers: compare the bytes as hex (a short diff when they differ). */
const HEX = Array.from({ length: 256 }, (_, x) => x.toString(16).padStart(2, '0'))
const hex = (b: Uint8Array): string => {
  let s = ''
  for (const x of b) s += HEX[x]
  return s
}
/** A message as a string, bytes in hex and their class named: deep equality without vitest's slow diff of large arrays. */
const canon = (m: unknown): string =>
  JSON.stringify(m, (_k, v) => (v instanceof Uint8Array ? `${v.constructor.name}:${hex(v)}` : v))

// Numbers at every CBOR header boundary, plus values the fast writer leaves to cbor-x.
const num = fc.oneof(
  fc.constantFrom(0, 23, 24, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1, -1, 1.5),
  fc.nat(),
)
const id = fc.oneof(fc.string({ maxLength: 70 }), fc.string({ unit: 'grapheme', maxLength: 40 }))
const bytes = fc.oneof(
  fc.uint8Array({ maxLength: 40 }),
  fc.constantFrom(LARGE_BYTES - 1, LARGE_BYTES, 70_000).map((n) => new Uint8Array(n).fill(n & 0xff)),
)
const maybe = <T>(a: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(a, { nil: undefined })
const conf = fc.record({
  voters: fc.array(id, { maxLength: 3 }),
  outgoing: fc.array(id, { maxLength: 2 }),
  learners: fc.array(id, { maxLength: 2 }),
  learnersNext: fc.array(id, { maxLength: 2 }),
  witnesses: fc.array(id, { maxLength: 2 }),
  autoLeave: fc.boolean(),
})
const message: fc.Arbitrary<Message> = fc
  .record({
    type: fc.integer({ min: 0, max: 17 }),
    from: id,
    to: id,
    term: num,
    logTerm: maybe(num),
    index: maybe(num),
    entries: maybe(
      fc.array(fc.record({ term: num, index: num, type: fc.constantFrom(0, 1), data: bytes }), {
        maxLength: 4,
      }),
    ),
    commit: maybe(num),
    reject: maybe(fc.boolean()),
    rejectHint: maybe(num),
    snapshot: maybe(
      fc.record({
        meta: fc.record({ index: num, term: num, conf }),
        offset: num,
        total: num,
        data: bytes,
      }),
    ),
    context: maybe(bytes),
    dataMatch: maybe(num),
  })
  .map((r) => {
    // Absent optional fields are absent keys, as Raft builds its messages.
    const m: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(r)) if (v !== undefined) m[k] = v
    return m as unknown as Message
  })

describe('fast message writer', () => {
  it('writes exactly the bytes cbor-x writes, for any message', () => {
    fc.assert(
      fc.property(message, (m) => {
        const expected = hex(encodeMessageCbor(m))
        expect(hex(concat(encodeMessageParts(m)))).toBe(expected)
        expect(hex(encodeMessage(m))).toBe(expected)
      }),
      { numRuns: 500 },
    )
  })

  it('passes large byte strings by reference and small ones by copy', () => {
    const big = new Uint8Array(LARGE_BYTES).fill(7)
    const small = new Uint8Array(LARGE_BYTES - 1).fill(8)
    const m: Message = {
      type: MessageType.App,
      from: 'a',
      to: 'b',
      term: 1,
      entries: [
        { term: 1, index: 1, type: 0, data: small },
        { term: 1, index: 2, type: 0, data: big },
      ],
    }
    const parts = encodeMessageParts(m)
    expect(parts.filter((p) => p === big)).toHaveLength(1)
    expect(parts.some((p) => p === small)).toBe(false)
    expect(decodeMessage(concat(parts))).toEqual(m)
  })

  it('keeps earlier outputs intact while writing later ones', () => {
    const mk = (i: number): Message => ({
      type: MessageType.App,
      from: '12D3KooWPeerA-a-long-peer-id',
      to: i % 3 === 0 ? 'peer-b' : `12D3KooWPeerB-${i % 5}`,
      term: i,
      entries: [{ term: i, index: i, type: 0, data: new Uint8Array(100).fill(i & 0xff) }],
    })
    const outs = Array.from({ length: 2000 }, (_, i) => encodeMessage(mk(i)))
    for (const [i, bytes] of outs.entries()) expect(decodeMessage(bytes)).toEqual(mk(i))
  })

  it('writes messages larger than its buffer, and ones that cross from one buffer to the next', () => {
    const mk = (i: number, n: number): Message => ({
      type: MessageType.App,
      from: `12D3KooW-from-${i % 4}`,
      to: `12D3KooW-to-${i % 7}`,
      term: i,
      entries: Array.from({ length: n }, (_, k) => ({
        term: i,
        index: k,
        type: 0,
        data: new Uint8Array(LARGE_BYTES - 1).fill(k & 0xff),
      })),
    })
    const sizes = [1, 3, 40, 200, 2, 130, 7]
    const outs = Array.from({ length: 70 }, (_, i) => mk(i, sizes[i % sizes.length])).map((m) => ({
      m,
      parts: encodeMessageParts(m),
    }))
    for (const { m, parts } of outs) expect(hex(concat(parts))).toBe(hex(encodeMessageCbor(m)))
  })
})

describe('fast message reader', () => {
  it('reads any message as the cbor-x path does', () => {
    fc.assert(
      fc.property(message, (m) => {
        const bytes = encodeMessage(m)
        // What the fast writer covers (uint32 numbers, ASCII), the fast reader reads.
        if (writeMessageParts(m) !== undefined) expect(readMessage(bytes)).toBeDefined()
        expect(canon(decodeMessage(bytes))).toBe(canon(decodeMessageCbor(bytes)))
      }),
      { numRuns: 500 },
    )
  })

  it('on mutated frames, accepts only what cbor-x accepts, with the same result', () => {
    const small = message.filter((m) => encodeMessage(m).byteLength < 4096)
    fc.assert(
      fc.property(
        small,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
        fc.nat(),
        (m, edits, cut) => {
          const bytes = encodeMessage(m).slice()
          for (const [at, v] of edits) bytes[at % bytes.length] = v
          const frame = cut % 5 === 0 ? bytes.subarray(0, cut % bytes.length) : bytes
          const fast = readMessage(frame)
          if (fast === undefined) return
          expect(canon(fast)).toBe(canon(decodeMessageCbor(frame)))
        },
      ),
      { numRuns: 3000 },
    )
  })
})
