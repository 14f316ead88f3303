import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  CodecError,
  decodeCbor,
  decodeMessage,
  encodeCbor,
  encodeMessage,
  type Message,
  MessageType,
} from '../src/index.js'

const sample: Message = {
  type: MessageType.App,
  from: 'a',
  to: 'b',
  term: 3,
  logTerm: 2,
  index: 7,
  commit: 6,
  entries: [{ term: 3, index: 8, type: 0, data: new Uint8Array([1, 2, 3]) }],
  context: new Uint8Array([9]),
}

describe('message codec', () => {
  it('round-trips every field', () => {
    const withSnap: Message = {
      ...sample,
      type: MessageType.Snap,
      reject: true,
      rejectHint: 4,
      dataMatch: 5,
      snapshot: {
        meta: {
          index: 10,
          term: 2,
          conf: {
            voters: ['a', 'b'],
            outgoing: [],
            learners: ['c'],
            learnersNext: [],
            witnesses: ['b'],
            autoLeave: false,
          },
        },
        offset: 0,
        total: 3,
        data: new Uint8Array([4, 5, 6]),
      },
    }
    expect(decodeMessage(encodeMessage(withSnap))).toEqual(withSnap)
    expect(decodeMessage(encodeMessage(sample))).toEqual(sample)
  })

  it('rejects another version with a CodecError', () => {
    const bytes = encodeMessage(sample)
    // The version is the array's first element, right after the array header byte.
    const tampered = bytes.slice()
    tampered[1] = 2
    expect(() => decodeMessage(tampered)).toThrow(/version/)
  })

  it('throws only CodecError on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        try {
          decodeMessage(bytes)
        } catch (err) {
          expect(err).toBeInstanceOf(CodecError)
        }
      }),
      { numRuns: 2000 },
    )
  })
})

describe('message codec on hostile input', () => {
  // The wire array as cbor-x would decode it, edited field by field.
  const wire = (edit: (w: unknown[]) => void): Uint8Array => {
    const w = decodeCbor<unknown[]>(encodeMessage(sample))
    edit(w)
    return encodeCbor(w)
  }

  it('refuses NaN, infinite, negative, fractional and unsafe numbers in every numeric field', () => {
    for (const v of [
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      -1,
      0.5,
      2 ** 53,
      1e300,
    ]) {
      for (const field of [4, 5, 6, 8]) {
        expect(() => decodeMessage(wire((w) => (w[field] = v))), `field ${field} = ${v}`).toThrow(CodecError)
      }
      const entry = wire((w) => ((w[7] as unknown[][])[0][0] = v))
      expect(() => decodeMessage(entry)).toThrow(/entry term/)
    }
  })

  it('refuses CBOR value sharing that would multiply memory', () => {
    // [1, 3, "a", "b", 3, 2, 7, [shareable(entry with 1 KiB), sharedref(0) x 200], 6, ...nulls]
    const big = new Uint8Array(1024)
    const entry = encodeCbor([3, 8, 0, big])
    const parts: number[] = [0x8e, 0x01, 0x03, 0x61, 0x61, 0x61, 0x62, 0x03, 0x02, 0x07]
    parts.push(0x98, 201) // array of 201
    parts.push(0xd8, 28, ...entry) // tag 28: shareable
    for (let i = 0; i < 200; i++) parts.push(0xd8, 29, 0x00) // tag 29: reference to value 0
    parts.push(0x06, 0xf6, 0xf6, 0xf6, 0xf6, 0xf6) // commit 6, then five nulls
    const frame = Uint8Array.from(parts)
    expect(frame.byteLength).toBeLessThan(2000)
    // Without the check this decodes to 201 entries holding 201 KiB.
    expect(() => decodeMessage(frame)).toThrow(/shared values/)
  })
})
