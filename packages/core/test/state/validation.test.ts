import { describe, expect, it } from 'vitest'
import { decodeCbor } from '../../src/codec/index.js'
import {
  type Command,
  createStateMachine,
  encodeCommand,
  FailStopError,
  StateMachineError,
  takeSnapshot,
} from '../../src/state/index.js'
import { applyAll, vec } from './helpers.js'

async function machine() {
  const sm = await createStateMachine({ engine: 'wasm', limits: { maxMetadataBytes: 64, maxIdBytes: 16 } })
  applyAll(sm, [
    { op: 'create', name: 'c', options: { dimensions: 3, metric: 'cos' } },
    { op: 'upsert', collection: 'c', items: [{ id: 'keep', vector: vec(1, 2, 3), metadata: { a: 1 } }] },
  ])
  return sm
}

const bad: [string, Command, string, string][] = [
  [
    'wrong dimension',
    { op: 'upsert', collection: 'c', items: [{ id: 'x', vector: vec(1, 2) }] },
    'ERR_DIMENSION_MISMATCH',
    'items[0].vector',
  ],
  [
    'NaN',
    {
      op: 'upsert',
      collection: 'c',
      items: [
        { id: 'x', vector: vec(1, 2, 3) },
        { id: 'y', vector: vec(1, Number.NaN, 3) },
      ],
    },
    'ERR_NON_FINITE',
    'items[1].vector[1]',
  ],
  [
    'Infinity',
    { op: 'upsert', collection: 'c', items: [{ id: 'x', vector: vec(Number.POSITIVE_INFINITY, 2, 3) }] },
    'ERR_NON_FINITE',
    'items[0].vector[0]',
  ],
  [
    'empty id',
    { op: 'upsert', collection: 'c', items: [{ id: '', vector: vec(1, 2, 3) }] },
    'ERR_INVALID_ID',
    'items[0].id',
  ],
  [
    'oversized id',
    { op: 'upsert', collection: 'c', items: [{ id: 'x'.repeat(17), vector: vec(1, 2, 3) }] },
    'ERR_INVALID_ID',
    'items[0].id',
  ],
  [
    'duplicate id in a batch',
    {
      op: 'upsert',
      collection: 'c',
      items: [
        { id: 'x', vector: vec(1, 2, 3) },
        { id: 'x', vector: vec(1, 2, 3) },
      ],
    },
    'ERR_INVALID_ID',
    'items[1].id',
  ],
  [
    'oversized metadata',
    {
      op: 'upsert',
      collection: 'c',
      items: [{ id: 'x', vector: vec(1, 2, 3), metadata: { s: 'y'.repeat(100) } }],
    },
    'ERR_METADATA_TOO_LARGE',
    'items[0].metadata',
  ],
  [
    'metadata not a map',
    { op: 'update', collection: 'c', id: 'keep', metadata: [1, 2] as unknown as Record<string, unknown> },
    'ERR_INVALID_METADATA',
    'metadata',
  ],
  [
    'unknown collection',
    { op: 'upsert', collection: 'nope', items: [{ id: 'x', vector: vec(1, 2, 3) }] },
    'ERR_UNKNOWN_COLLECTION',
    'collection',
  ],
  [
    'unknown collection on delete',
    { op: 'delete', collection: 'nope', ids: ['x'] },
    'ERR_UNKNOWN_COLLECTION',
    'collection',
  ],
  [
    'unknown collection on compact',
    { op: 'compact', collection: 'nope' },
    'ERR_UNKNOWN_COLLECTION',
    'collection',
  ],
  [
    'exists with other options',
    { op: 'create', name: 'c', options: { dimensions: 3, metric: 'l2sq' } },
    'ERR_COLLECTION_EXISTS',
    'name',
  ],
  [
    'exists with another expansion',
    { op: 'create', name: 'c', options: { dimensions: 3, metric: 'cos', expansionSearch: 10 } },
    'ERR_COLLECTION_EXISTS',
    'name',
  ],
  [
    'bad name',
    { op: 'create', name: 'a b', options: { dimensions: 3, metric: 'cos' } },
    'ERR_INVALID_NAME',
    'name',
  ],
  [
    'bad dimensions',
    { op: 'create', name: 'd', options: { dimensions: 0, metric: 'cos' } },
    'ERR_INVALID_COMMAND',
    'options.dimensions',
  ],
  [
    'bad metric',
    { op: 'create', name: 'd', options: { dimensions: 3, metric: 'hamming' as 'cos' } },
    'ERR_INVALID_COMMAND',
    'options.metric',
  ],
  ['update unknown id', { op: 'update', collection: 'c', id: 'ghost', metadata: {} }, 'ERR_UNKNOWN_ID', 'id'],
  ['empty delete', { op: 'delete', collection: 'c', ids: [] }, 'ERR_INVALID_COMMAND', 'ids'],
  ['empty upsert', { op: 'upsert', collection: 'c', items: [] }, 'ERR_INVALID_COMMAND', 'items'],
  ['unknown op', { op: 'explode' } as unknown as Command, 'ERR_INVALID_COMMAND', 'op'],
  [
    'bad session',
    { op: 'drop', name: 'zzz', session: { client: '', seq: 1 } },
    'ERR_INVALID_COMMAND',
    'session.client',
  ],
]

describe('validation before proposal', () => {
  for (const [what, cmd, code, field] of bad) {
    it(`${what}: ${code} naming ${field}`, async () => {
      const sm = await machine()
      let error: unknown
      try {
        sm.validate(cmd)
      } catch (err) {
        error = err
      }
      expect(error).toBeInstanceOf(StateMachineError)
      expect(error).toMatchObject({ code, field })
      expect((error as Error).message).toContain(field)
    })
  }

  it('accepts valid commands', async () => {
    const sm = await machine()
    expect(() =>
      sm.validate({ op: 'upsert', collection: 'c', items: [{ id: 'n', vector: vec(0, 1, 0) }] }),
    ).not.toThrow()
    expect(() =>
      sm.validate({ op: 'create', name: 'c', options: { dimensions: 3, metric: 'cos' } }),
    ).not.toThrow()
  })
})

describe('apply never leaves state torn', () => {
  it('a rejected entry changes nothing but lastApplied, and returns the same error', async () => {
    for (const [, cmd, code, field] of bad) {
      const sm = await machine()
      const before = [...takeSnapshot(sm)]
      const result = sm.apply(3, encodeCommand(cmd))
      expect(result).toMatchObject({ index: 3, ok: false, error: { code, field } })
      expect(sm.lastApplied).toBe(3)
      const after = [...takeSnapshot(sm)]
      // Every chunk body but the head's (which carries lastApplied) is byte-identical.
      const bodies = (chunks: Uint8Array[]) => chunks.slice(1).map((c) => decodeCbor<{ b: Uint8Array }>(c).b)
      expect(bodies(after)).toEqual(bodies(before))
      expect(sm.sessions.size).toBe(0)
    }
  })

  it('undecodable bytes and empty entries apply as no-ops', async () => {
    const sm = await machine()
    expect(sm.apply(3, new Uint8Array([0xff]))).toMatchObject({
      ok: false,
      error: { code: 'ERR_INVALID_COMMAND' },
    })
    expect(sm.apply(4, new Uint8Array())).toEqual({ index: 4, ok: true, value: null })
    expect(sm.collections.get('c')!.size).toBe(1)
  })

  it('an engine failure mid-command stops the machine with tables and index as they were', async () => {
    const sm = await machine()
    const c = sm.collections.get('c')!
    const index = c.index
    const original = index.addMany.bind(index)
    // Simulate the engine failing after adding part of a batch.
    index.addMany = (keys, vectors) => {
      original(keys.slice(0, 1), vectors.subarray(0, 3))
      throw new Error('out of memory')
    }
    const upsert = encodeCommand({
      op: 'upsert',
      collection: 'c',
      items: [
        { id: 'keep', vector: vec(3, 2, 1) },
        { id: 'new', vector: vec(0, 0, 1) },
      ],
      session: { client: 'w', seq: 1 },
    })
    let thrown: unknown
    try {
      sm.apply(3, upsert)
    } catch (err) {
      thrown = err
    }
    index.addMany = original
    // A local failure is not the command's result: nothing is recorded, the machine stops.
    expect(thrown).toBeInstanceOf(FailStopError)
    expect(thrown).toMatchObject({ code: 'ERR_FAIL_STOP', index: 3, cause: { message: 'out of memory' } })
    expect(sm.lastApplied).toBe(2)
    expect(sm.sessions.get('w')).toBeUndefined()
    expect(c.size).toBe(1)
    expect(index.count()).toBe(1)
    expect(c.nextKey).toBe(1)
    expect(() => sm.apply(3, upsert)).toThrow(FailStopError)
    expect(() => sm.search('c', vec(0, 0, 1), { k: 1 })).toThrow(FailStopError)
    expect(() => takeSnapshot(sm)).toThrow(FailStopError)
  })
})
