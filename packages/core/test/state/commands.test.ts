import { describe, expect, it } from 'vitest'
import { encodeCbor } from '../../src/codec/index.js'
import { type Command, createStateMachine, decodeCommand, encodeCommand } from '../../src/state/index.js'
import { applyAll, vec } from './helpers.js'

describe('commands', () => {
  it('round-trip through CBOR with vectors bit for bit and a version', () => {
    const cmd: Command = {
      op: 'upsert',
      collection: 'c',
      items: [{ id: 'a', vector: vec(0.1, -2.5, 3e-38), metadata: { n: 1, s: 'x', nested: { ok: true } } }],
      session: { client: 'cli', seq: 4 },
    }
    const back = decodeCommand(encodeCommand(cmd))
    expect(back).toEqual(cmd)
    expect((back as { items: { vector: Float32Array }[] }).items[0].vector).toBeInstanceOf(Float32Array)
  })

  it('rejects an unknown version and non-CBOR bytes', () => {
    expect(() => decodeCommand(encodeCbor({ v: 99, op: 'drop', name: 'x' }))).toThrow(/version/)
    expect(() => decodeCommand(new Uint8Array([0xff, 0x00]))).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_COMMAND' }),
    )
  })

  it('apply covers every command and reports what each did', async () => {
    const sm = await createStateMachine({ engine: 'wasm' })
    const results = applyAll(sm, [
      { op: 'create', name: 'c', options: { dimensions: 2, metric: 'l2sq' } },
      { op: 'create', name: 'c', options: { dimensions: 2, metric: 'l2sq' } },
      {
        op: 'upsert',
        collection: 'c',
        items: [
          { id: 'a', vector: vec(0, 0), metadata: { color: 'red' } },
          { id: 'b', vector: vec(1, 1) },
        ],
      },
      { op: 'upsert', collection: 'c', items: [{ id: 'a', vector: vec(5, 5), metadata: { color: 'blue' } }] },
      { op: 'update', collection: 'c', id: 'b', metadata: { color: 'green' } },
      { op: 'delete', collection: 'c', ids: ['b', 'nope'] },
      { op: 'compact', collection: 'c' },
      { op: 'drop', name: 'c' },
      { op: 'drop', name: 'c' },
    ])
    expect(results.map((r) => (r.ok ? r.value : r.error.code))).toEqual([
      { created: true },
      { created: false },
      { upserted: 2 },
      { upserted: 1 },
      { updated: true },
      { deleted: 1 },
      { compacted: 1 },
      { dropped: true },
      { dropped: false },
    ])
    expect(results.map((r) => r.index)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9])
    expect(sm.collections.size).toBe(0)
  })

  it('upsert replaces vector and metadata; update and delete act on the id table', async () => {
    const sm = await createStateMachine({ engine: 'wasm' })
    applyAll(sm, [
      { op: 'create', name: 'c', options: { dimensions: 2, metric: 'l2sq' } },
      { op: 'upsert', collection: 'c', items: [{ id: 'a', vector: vec(0, 0), metadata: { v: 1 } }] },
      { op: 'upsert', collection: 'c', items: [{ id: 'a', vector: vec(9, 9), metadata: { v: 2 } }] },
    ])
    const c = sm.collections.get('c')!
    expect(c.size).toBe(1)
    expect(c.index.count()).toBe(1)
    expect(sm.get('c', 'a')).toEqual({ vector: vec(9, 9), metadata: { v: 2 } })
    expect(sm.search('c', vec(9, 9), { k: 5 })).toEqual([{ id: 'a', distance: 0, metadata: { v: 2 } }])
    applyAll(sm, [{ op: 'update', collection: 'c', id: 'a', metadata: { v: 3 } }])
    expect(sm.get('c', 'a')?.metadata).toEqual({ v: 3 })
    applyAll(sm, [{ op: 'delete', collection: 'c', ids: ['a'] }])
    expect(sm.get('c', 'a')).toBeUndefined()
    expect(sm.search('c', vec(9, 9), { k: 5 })).toEqual([])
  })

  it('compact rebuilds the index without tombstones and keeps answers', async () => {
    const sm = await createStateMachine({ engine: 'native' })
    applyAll(sm, [
      { op: 'create', name: 'c', options: { dimensions: 2, metric: 'l2sq' } },
      {
        op: 'upsert',
        collection: 'c',
        items: Array.from({ length: 50 }, (_, i) => ({ id: `p${i}`, vector: vec(i, 0) })),
      },
      { op: 'delete', collection: 'c', ids: Array.from({ length: 25 }, (_, i) => `p${i * 2}`) },
    ])
    const before = sm.search('c', vec(10.2, 0), { k: 3 })
    const [r] = applyAll(sm, [{ op: 'compact', collection: 'c' }])
    expect(r).toMatchObject({ ok: true, value: { compacted: 25 } })
    expect(sm.collections.get('c')!.index.count()).toBe(25)
    expect(sm.search('c', vec(10.2, 0), { k: 3 })).toEqual(before)
    expect(before.map((h) => h.id)).toEqual(['p11', 'p9', 'p13'])
  })
})
