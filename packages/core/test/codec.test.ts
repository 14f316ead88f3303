import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { CodecError, decodeMessage, encodeMessage, type Message, MessageType } from '../src/index.js'

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
