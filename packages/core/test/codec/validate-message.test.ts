import fc from 'fast-check'
import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  assertValidMessage,
  type ConfState,
  DEFAULT_MESSAGE_LIMITS,
  type Message,
  MessageType,
  MessageValidationError,
  validateMessage,
} from '../../src/index.js'
import { RawNode } from '../../src/raft/raw-node.js'
import { runSeed } from '../../src/sim/index.js'

const conf: ConfState = {
  voters: ['a', 'b', 'c'],
  outgoing: [],
  learners: [],
  learnersNext: [],
  witnesses: ['c'],
  autoLeave: false,
}
const append: Message = {
  type: MessageType.App,
  from: 'a',
  to: 'b',
  term: 5,
  index: 10,
  logTerm: 4,
  commit: 9,
  entries: [
    { term: 4, index: 11, type: 0, data: new Uint8Array(3) },
    { term: 5, index: 12, type: 1, data: new Uint8Array(0) },
  ],
}
const chunk: Message = {
  type: MessageType.Snap,
  from: 'a',
  to: 'b',
  term: 5,
  snapshot: { meta: { index: 20, term: 4, conf }, offset: 4, total: 10, data: new Uint8Array(6) },
}
const reasonOf = (m: Message) => validateMessage(m)?.reason ?? null

describe('validateMessage', () => {
  it('passes well-formed messages, forwarded requests with term 0 included', () => {
    expect(reasonOf(append)).toBeNull()
    expect(reasonOf(chunk)).toBeNull()
    for (const type of [MessageType.Prop, MessageType.ReadIndex, MessageType.TransferLeader]) {
      expect(reasonOf({ type, from: 'b', to: 'a', term: 0 })).toBeNull()
    }
    // A founding or witness snapshot carries metadata only.
    const metaOnly = { ...chunk.snapshot!, offset: 0, total: 0, data: new Uint8Array(0) }
    expect(reasonOf({ ...chunk, snapshot: metaOnly })).toBeNull()
  })

  it('refuses numbers that are not safe non-negative integers, in every field', () => {
    const bad = [Number.NaN, Number.POSITIVE_INFINITY, -1, 1.5, 2 ** 53, 1e300]
    for (const v of bad) {
      for (const field of ['term', 'index', 'logTerm', 'commit', 'rejectHint', 'dataMatch'] as const) {
        expect(reasonOf({ ...append, [field]: v }), `${field}=${v}`).toMatch(/bad-number|bad-term/)
      }
      const e = { ...append.entries![0], term: v }
      expect(reasonOf({ ...append, entries: [e] }), `entry term ${v}`).toBe('bad-number')
      const s = chunk.snapshot!
      expect(reasonOf({ ...chunk, snapshot: { ...s, total: v } })).toBe('bad-number')
      expect(reasonOf({ ...chunk, snapshot: { ...s, meta: { ...s.meta, index: v } } })).toBe('bad-number')
    }
  })

  it('allows term 0 only on forwarded requests, and only term 0 on them', () => {
    expect(reasonOf({ ...append, term: 0 })).toBe('bad-term')
    expect(reasonOf({ type: MessageType.Vote, from: 'b', to: 'a', term: 0 })).toBe('bad-term')
    expect(reasonOf({ type: MessageType.Prop, from: 'b', to: 'a', term: 7 })).toBe('bad-term')
  })

  it('refuses local-only and unknown types', () => {
    for (const type of [MessageType.Hup, MessageType.Beat, MessageType.Unreachable, 18, -1]) {
      expect(reasonOf({ type, from: 'b', to: 'a', term: 0 } as Message)).toBe('local-type')
    }
  })

  it('refuses appended entries that do not follow index, or whose terms go backwards', () => {
    const [e1, e2] = append.entries!
    expect(reasonOf({ ...append, entries: [e2, e1] })).toBe('bad-entries')
    expect(reasonOf({ ...append, entries: [e1, { ...e2, index: 13 }] })).toBe('bad-entries')
    expect(reasonOf({ ...append, entries: [{ ...e1, term: 3 }] })).toBe('bad-entries') // < logTerm
    expect(reasonOf({ ...append, entries: [{ ...e1, term: 6 }] })).toBe('bad-entries') // > term
    expect(reasonOf({ ...append, entries: [{ ...e1, type: 2 as 0 }] })).toBe('bad-entries')
  })

  it('refuses snapshot chunks with inconsistent sizes or metadata', () => {
    const s = chunk.snapshot!
    const with_ = (snapshot: object) => reasonOf({ ...chunk, snapshot: { ...s, ...snapshot } })
    expect(with_({ offset: 5 })).toBe('bad-snapshot') // 5 + 6 > 10
    expect(with_({ total: 0 })).toBe('bad-snapshot')
    expect(with_({ data: new Uint8Array(0) })).toBe('bad-snapshot')
    expect(with_({ length: 6 })).toBe('bad-snapshot') // a chunk request is not a chunk
    expect(with_({ total: DEFAULT_MESSAGE_LIMITS.maxSnapshotBytes + 1 })).toBe('snapshot-too-large')
    expect(with_({ meta: { ...s.meta, term: 6 } })).toBe('bad-snapshot') // newer than the sender's term
    expect(with_({ meta: { ...s.meta, index: 0 } })).toBe('bad-snapshot')
    expect(reasonOf({ ...chunk, snapshot: undefined })).toBe('bad-snapshot')
    const meta = (c: Partial<ConfState>) => with_({ meta: { ...s.meta, conf: { ...conf, ...c } } })
    expect(meta({ voters: [] })).toBe('bad-conf')
    expect(meta({ voters: ['a', 'a'] })).toBe('bad-conf')
    expect(meta({ voters: ['a', ''] })).toBe('bad-conf')
    expect(meta({ witnesses: ['z'] })).toBe('bad-conf')
    expect(meta({ learners: ['a'] })).toBe('bad-conf')
  })

  it('caps the context and throws a coded error on request', () => {
    expect(reasonOf({ ...append, context: new Uint8Array(2000) })).toBe('bad-context')
    expect(() => assertValidMessage({ ...append, term: Number.NaN })).toThrow(MessageValidationError)
  })

  it('never throws, whatever the message holds', () => {
    fc.assert(
      fc.property(
        fc.record({
          type: fc.integer({ min: -2, max: 20 }),
          from: fc.oneof(fc.string(), fc.constant(undefined)),
          to: fc.string(),
          term: fc.oneof(fc.integer(), fc.double()),
          index: fc.option(fc.oneof(fc.integer(), fc.double()), { nil: undefined }),
          entries: fc.option(fc.array(fc.anything()), { nil: undefined }),
          snapshot: fc.option(fc.anything(), { nil: undefined }),
        }),
        (m) => {
          validateMessage(m as unknown as Message)
        },
      ),
      { numRuns: 2000 },
    )
  })
})

describe('validateMessage against Raft itself', () => {
  afterEach(() => vi.restoreAllMocks())

  it('passes every message that honest peers send each other in simulated runs', () => {
    const refused: string[] = []
    const seen = new Set<number>()
    const step = RawNode.prototype.step
    vi.spyOn(RawNode.prototype, 'step').mockImplementation(function (this: RawNode, m: Message) {
      if (m.from !== m.to) seen.add(m.type)
      const bad = m.from === m.to ? null : validateMessage(m)
      if (bad) refused.push(`${m.type} ${bad.reason}: ${bad.detail}`)
      return step.call(this, m)
    })
    let delivered = 0
    for (let seed = 1; seed <= 20; seed++) delivered += runSeed(seed).steps
    expect(delivered).toBeGreaterThan(1000)
    for (const type of [MessageType.App, MessageType.Snap, MessageType.Prop, MessageType.ReadIndex]) {
      expect(seen.has(type), `type ${type} exercised`).toBe(true)
    }
    expect(refused.slice(0, 5)).toEqual([])
  })
})
