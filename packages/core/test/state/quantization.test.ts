import { describe, expect, it } from 'vitest'
import { type Command, createStateMachine, encodeCommand, VECTOR_RANGE } from '../../src/state/index.js'
import { vec } from './helpers.js'

describe('vectors must fit the storage type', () => {
  for (const engine of ['native', 'wasm'] as const)
    it(`${engine}: f16 refuses components past 65504 (they would be stored as Infinity)`, async () => {
      const sm = await createStateMachine({ engine })
      sm.apply(
        1,
        encodeCommand({
          op: 'create',
          name: 'h',
          options: { dimensions: 2, metric: 'l2sq', quantization: 'f16' },
        }),
      )
      const edge: Command = {
        op: 'upsert',
        collection: 'h',
        items: [{ id: 'edge', vector: vec(65504, -65504) }],
      }
      const over: Command = { op: 'upsert', collection: 'h', items: [{ id: 'over', vector: vec(1, 70000) }] }
      expect(() => sm.prepare(over)).toThrow(
        expect.objectContaining({ code: 'ERR_OUT_OF_RANGE', field: 'items[0].vector[1]' }),
      )
      // A poisoned log entry is rejected at apply, on every engine alike.
      expect(sm.apply(2, encodeCommand(over))).toMatchObject({
        ok: false,
        error: { code: 'ERR_OUT_OF_RANGE' },
      })
      expect(sm.apply(3, sm.prepare(edge))).toMatchObject({ ok: true })
      const [hit] = sm.search('h', vec(65504, -65504), { k: 1 })
      expect(hit.id).toBe('edge')
      expect(Number.isFinite(hit.distance)).toBe(true)
      expect(() => sm.search('h', vec(0, 1e5), { k: 1 })).toThrow(
        expect.objectContaining({ code: 'ERR_OUT_OF_RANGE', field: 'query[1]' }),
      )
    })

  it('f32 and i8 bound components so squared distances over 4096 dimensions stay finite', async () => {
    const sm = await createStateMachine({ engine: 'wasm' })
    sm.apply(1, encodeCommand({ op: 'create', name: 'f', options: { dimensions: 4096, metric: 'l2sq' } }))
    const big = new Float32Array(4096).fill(VECTOR_RANGE.f32)
    const r = sm.apply(
      2,
      encodeCommand({
        op: 'upsert',
        collection: 'f',
        items: [
          { id: 'a', vector: big },
          { id: 'b', vector: big.map((x) => -x) },
        ],
      }),
    )
    expect(r).toMatchObject({ ok: true })
    const [hit] = sm.search('f', big, { k: 2 }).slice(-1)
    expect(Number.isFinite(hit.distance)).toBe(true)
    const bad = Float32Array.from(big)
    bad[7] = 1e18
    expect(() => sm.prepare({ op: 'upsert', collection: 'f', items: [{ id: 'c', vector: bad }] })).toThrow(
      expect.objectContaining({ code: 'ERR_OUT_OF_RANGE', field: 'items[0].vector[7]' }),
    )
  })
})
