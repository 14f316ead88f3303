import { describe, expect, it } from 'vitest'
import { encodeCbor } from '../../src/codec/index.js'
import {
  type Command,
  createStateMachine,
  decodeCommand,
  encodeCommand,
  type StateMachine,
  StateMachineError,
} from '../../src/state/index.js'
import { applyAll, vec } from './helpers.js'

async function machine(): Promise<StateMachine> {
  const sm = await createStateMachine({ engine: 'wasm' })
  applyAll(sm, [
    { op: 'create', name: 'c', options: { dimensions: 2, metric: 'l2sq' } },
    { op: 'upsert', collection: 'c', items: [{ id: 'keep', vector: vec(1, 1) }] },
  ])
  return sm
}

const upsert = (id: string, metadata?: Record<string, unknown>, session?: Command['session']): Command => ({
  op: 'upsert',
  collection: 'c',
  items: [{ id, vector: vec(0, 1), metadata }],
  session,
})

function nested(depth: number): Record<string, unknown> {
  let v: Record<string, unknown> = { leaf: 1 }
  for (let i = 1; i < depth; i++) v = { x: v }
  return v
}

function prepareError(sm: StateMachine, cmd: Command): StateMachineError {
  try {
    sm.prepare(cmd)
  } catch (err) {
    expect(err).toBeInstanceOf(StateMachineError)
    return err as StateMachineError
  }
  throw new Error('prepare accepted the command')
}

/** Replaces the first occurrence of `find` in `bytes` by `put` (same length). */
function patch(bytes: Uint8Array, find: string, put: number[]): Uint8Array {
  const needle = new TextEncoder().encode(find)
  const out = new Uint8Array(bytes)
  for (let i = 0; i + needle.length <= out.length; i++)
    if (needle.every((b, j) => out[i + j] === b)) {
      out.set(put, i)
      return out
    }
  throw new Error(`${find} not found`)
}

describe('prepare: the proposed bytes are what every replica will apply', () => {
  it('returns bytes that decode to the command and apply as validated', async () => {
    const sm = await machine()
    const cmd = upsert(
      'n',
      { s: 'ok', bytes: new Uint8Array([1, 2]), list: [1, 'two', null] },
      { client: 'a', seq: 1 },
    )
    const bytes = sm.prepare(cmd)
    expect(decodeCommand(bytes)).toEqual(cmd)
    expect(sm.apply(3, bytes)).toMatchObject({ ok: true, value: { upserted: 1 } })
  })

  const refused: [string, Command, string, string][] = [
    [
      'a lone surrogate in an id (decodes as U+FFFD: two ids collide)',
      upsert('a\ud800'),
      'ERR_NOT_ROUND_TRIP',
      'items[0].id',
    ],
    [
      'a lone surrogate in a metadata value',
      upsert('n', { s: 'x\udc00' }),
      'ERR_NOT_ROUND_TRIP',
      'items[0].metadata.s',
    ],
    [
      'a lone surrogate in a metadata key',
      upsert('n', { 'k\ud800': 1 }),
      'ERR_NOT_ROUND_TRIP',
      'items[0].metadata',
    ],
    [
      'a lone surrogate in a client id',
      upsert('n', {}, { client: '\udfff', seq: 1 }),
      'ERR_NOT_ROUND_TRIP',
      'session.client',
    ],
    [
      'a __proto__ key (decodes as __proto_)',
      upsert('n', JSON.parse('{"__proto__": {"a": 1}}')),
      'ERR_NOT_ROUND_TRIP',
      'items[0].metadata.__proto__',
    ],
    [
      'a leading U+FEFF (TextDecoder drops it from long strings)',
      upsert('n', { s: `\ufeff${'b'.repeat(80)}` }),
      'ERR_NOT_ROUND_TRIP',
      'items[0].metadata.s',
    ],
    ['-0 (encodes as 0)', upsert('n', { z: -0 }), 'ERR_NOT_ROUND_TRIP', 'items[0].metadata.z'],
    [
      'a Date (decodes as a tag other runtimes may not know)',
      upsert('n', { d: new Date(0) }),
      'ERR_INVALID_METADATA',
      'items[0].metadata.d',
    ],
    [
      'a Map (decodes as a plain object)',
      upsert('n', { m: new Map([[1, 2]]) }),
      'ERR_INVALID_METADATA',
      'items[0].metadata.m',
    ],
    ['a bigint', upsert('n', { b: 10n }), 'ERR_INVALID_METADATA', 'items[0].metadata.b'],
    [
      'a Float64Array',
      upsert('n', { f: new Float64Array(2) }),
      'ERR_INVALID_METADATA',
      'items[0].metadata.f',
    ],
    ['NaN', upsert('n', { f: Number.NaN }), 'ERR_INVALID_METADATA', 'items[0].metadata.f'],
    [
      'metadata nested past the limit',
      upsert('n', nested(17)),
      'ERR_TOO_DEEP',
      'items[0].metadata.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x',
    ],
    [
      'a client id over 128 bytes',
      upsert('n', {}, { client: 'é'.repeat(65), seq: 1 }),
      'ERR_INVALID_COMMAND',
      'session.client',
    ],
  ]
  for (const [what, cmd, code, field] of refused)
    it(`refuses ${what}: ${code} naming ${field}`, async () => {
      const sm = await machine()
      expect(prepareError(sm, cmd)).toMatchObject({ code, field })
    })

  it('refuses a cyclic value without overflowing the stack', async () => {
    const sm = await machine()
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    expect(prepareError(sm, upsert('n', cyclic)).code).toBe('ERR_TOO_DEEP')
  })

  it('accepts metadata nested exactly to the limit, and byte strings come back as plain Uint8Array', async () => {
    const sm = await machine()
    const deep = nested(16)
    expect(sm.apply(3, sm.prepare(upsert('n', { ...deep, b: new Uint8Array([7]) })))).toMatchObject({
      ok: true,
    })
    const got = sm.get('c', 'n')!.metadata as { b: Uint8Array }
    expect(Object.getPrototypeOf(got.b)).toBe(Uint8Array.prototype)
    expect([...got.b]).toEqual([7])
  })
})

describe('apply checks the bytes themselves, the same way on every stack', () => {
  it('a deeply nested entry is rejected by its depth, not by where the stack happens to be', async () => {
    const sm = await machine()
    const deep = encodeCommand(upsert('n', nested(1000))) // ~6 KB, under the 16 KB size limit
    const shallow = sm.apply(3, deep)
    expect(shallow).toMatchObject({ ok: false, error: { code: 'ERR_TOO_DEEP' } })
    // Use up nearly all of the stack, then apply the same entry there.
    const atDepth = (n: number, fn: () => unknown): unknown => (n === 0 ? fn() : atDepth(n - 1, fn))
    let lo = 0
    let hi = 1 << 20
    while (hi - lo > 1) {
      const mid = (lo + hi) >>> 1
      try {
        atDepth(mid, () => 0)
        lo = mid
      } catch {
        hi = mid
      }
    }
    // atDepth's frames differ in size between JIT tiers, so the depth found above may overflow in
    // atDepth itself later: back off until apply is reached. An overflow inside apply still fails.
    let reached = false
    let deepResult: unknown
    for (let depth = lo - 100; !reached; depth -= 100) {
      if (depth <= 0) throw new Error('no stack depth reached apply')
      try {
        deepResult = atDepth(depth, () => {
          reached = true
          return sm.apply(4, deep)
        })
      } catch (err) {
        if (reached || !(err instanceof RangeError)) throw err
      }
    }
    expect(deepResult).toEqual({ ...shallow, index: 4 })
    expect(sm.collections.get('c')!.size).toBe(1)
  })

  const poisoned: [string, () => Uint8Array, string][] = [
    [
      'ill-formed UTF-8 in an id (a WTF-8 surrogate)',
      () => patch(encodeCommand(upsert('idXXX')), 'XXX', [0xed, 0xa0, 0x80]),
      'ERR_NOT_ROUND_TRIP',
    ],
    [
      'an overlong UTF-8 form',
      () => patch(encodeCommand(upsert('idXX')), 'XX', [0xc0, 0xaf]),
      'ERR_NOT_ROUND_TRIP',
    ],
    [
      'a __proto__ key',
      () =>
        patch(encodeCommand(upsert('n', { __proto_X: 1 })), '__proto_X', [
          ...new TextEncoder().encode('__proto__'),
        ]),
      'ERR_NOT_ROUND_TRIP',
    ],
    [
      'a leading U+FEFF in a long string',
      () => encodeCommand(upsert('n', { s: `\ufeff${'b'.repeat(80)}` })),
      'ERR_NOT_ROUND_TRIP',
    ],
    [
      'a tag (a Date)',
      () => encodeCbor({ v: 1, op: 'update', collection: 'c', id: 'keep', metadata: { d: new Date(0) } }),
      'ERR_INVALID_COMMAND',
    ],
    [
      'trailing bytes',
      () => new Uint8Array([...encodeCommand({ op: 'drop', name: 'zz' }), 0]),
      'ERR_INVALID_COMMAND',
    ],
    ['a truncated entry', () => encodeCommand(upsert('n')).subarray(0, 20), 'ERR_INVALID_COMMAND'],
  ]
  for (const [what, bytes, code] of poisoned)
    it(`rejects ${what} as ${code}`, async () => {
      const sm = await machine()
      expect(sm.apply(3, bytes())).toMatchObject({ ok: false, error: { code } })
      expect(sm.collections.get('c')!.size).toBe(1)
    })
})
