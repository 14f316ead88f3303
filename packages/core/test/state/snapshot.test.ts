import { describe, expect, it } from 'vitest'
import { decodeCbor } from '../../src/codec/index.js'
import {
  restoreInto,
  restoreSnapshot,
  SnapshotError,
  type StateMachine,
  takeSnapshot,
} from '../../src/state/index.js'
import { clustered, row } from '../vector/data.js'
import { applyAll, machineWithDocs, vec } from './helpers.js'

async function* slowly(chunks: Uint8Array[]) {
  for (const c of chunks) {
    await Promise.resolve()
    yield c
  }
}

function sameState(a: StateMachine, b: StateMachine) {
  expect(b.lastApplied).toBe(a.lastApplied)
  expect([...b.sessions]).toEqual([...a.sessions])
  expect([...b.collections.keys()]).toEqual([...a.collections.keys()])
  for (const [name, ca] of a.collections) {
    const cb = b.collections.get(name)!
    expect(cb.options).toEqual(ca.options)
    expect(cb.nextKey).toBe(ca.nextKey)
    expect([...cb.ids]).toEqual([...ca.ids])
    expect([...cb.items]).toEqual([...ca.items])
    expect(cb.index.count()).toBe(ca.index.count())
  }
}

describe('snapshots', () => {
  for (const [from, to] of [
    ['native', 'native'],
    ['wasm', 'wasm'],
    ['native', 'wasm'],
    ['wasm', 'native'],
  ] as const) {
    it(`taken by ${from}, restored by ${to}, in small chunks, without re-indexing`, async () => {
      const sm = await machineWithDocs(from, 500, 16)
      applyAll(sm, [
        { op: 'create', name: 'empty', options: { dimensions: 4, metric: 'l2sq', quantization: 'f16' } },
        { op: 'delete', collection: 'docs', ids: ['doc-1', 'doc-2'] },
        { op: 'update', collection: 'docs', id: 'doc-3', metadata: { changed: true } },
        {
          op: 'upsert',
          collection: 'docs',
          items: [{ id: 'x', vector: new Float32Array(16).fill(0.5) }],
          session: { client: 'c1', seq: 9 },
        },
      ])
      const chunks = [...takeSnapshot(sm, { chunkBytes: 4096 })]
      expect(chunks.length).toBeGreaterThan(10)
      for (const c of chunks) expect(c.length).toBeLessThan(4096 + 512)
      const restored = await restoreSnapshot(slowly(chunks), { engine: to })
      expect(restored.engine).toBe(to)
      sameState(sm, restored)
      // The index came from the snapshot bytes: the same graph gives the same answers.
      const queries = clustered(10, 16, 90)
      for (let q = 0; q < 10; q++) {
        const query = row(queries, q, 16)
        const want = sm.search('docs', query, { k: 10 })
        const got = restored.search('docs', query, { k: 10 })
        expect(got.map((h) => [h.id, h.metadata])).toEqual(want.map((h) => [h.id, h.metadata]))
        // Native and WASM kernels round differently in the last bits.
        got.forEach((h, i) => {
          expect(h.distance).toBeCloseTo(want[i].distance, 5)
        })
      }
      // It is a live replica: it keeps applying, sessions included.
      const retry = restored.apply(
        restored.lastApplied + 1,
        (await import('../../src/state/index.js')).encodeCommand({
          op: 'upsert',
          collection: 'docs',
          items: [{ id: 'x', vector: new Float32Array(16).fill(0.5) }],
          session: { client: 'c1', seq: 9 },
        }),
      )
      expect(retry).toEqual(sm.sessions.get('c1')!.result)
      expect(
        applyAll(restored, [
          { op: 'upsert', collection: 'empty', items: [{ id: 'e', vector: vec(1, 2, 3, 4) }] },
        ])[0].ok,
      ).toBe(true)
    })
  }

  it('restore loads the serialized index instead of inserting again', async () => {
    const sm = await machineWithDocs('wasm', 300, 8)
    const restored = await restoreSnapshot(takeSnapshot(sm), {
      factory: Object.assign(
        (o: Parameters<StateMachine['make']>[0]) => {
          const index = sm.make(o)
          index.add = () => {
            throw new Error('re-indexing during restore')
          }
          index.addMany = index.add as never
          return index
        },
        { engine: 'wasm' as const },
      ),
    })
    expect(restored.collections.get('docs')!.index.count()).toBe(300)
  })

  it('rejects truncated, reordered or foreign streams with SnapshotError', async () => {
    const sm = await machineWithDocs('wasm', 50, 8)
    const chunks = [...takeSnapshot(sm, { chunkBytes: 512 })]
    const fails = async (c: Uint8Array[]) => {
      await expect(restoreSnapshot(c, { engine: 'wasm' })).rejects.toBeInstanceOf(SnapshotError)
    }
    await fails(chunks.slice(0, -1))
    await fails(chunks.slice(1))
    await fails([chunks[0], ...chunks.slice(2)])
    await fails([...chunks, chunks[1]])
    expect(decodeCbor<{ t: string }>(chunks[0]).t).toBe('head')
    const again = await restoreSnapshot(chunks, { engine: 'wasm' })
    sameState(sm, again)
  })

  it('restoreInto replaces a running machine’s state, and a bad stream leaves it untouched', async () => {
    const source = await machineWithDocs('wasm', 120, 8)
    const target = await machineWithDocs('wasm', 10, 8)
    applyAll(target, [{ op: 'create', name: 'other', options: { dimensions: 2, metric: 'ip' } }])
    const chunks = [...takeSnapshot(source, { chunkBytes: 1024 })]
    await expect(restoreInto(target, chunks.slice(0, -1))).rejects.toBeInstanceOf(SnapshotError)
    expect([...target.collections.keys()]).toEqual(['docs', 'other'])
    expect(target.collections.get('docs')!.size).toBe(10)
    await restoreInto(target, chunks)
    sameState(source, target)
    expect(target.search('docs', vec(1, 0, 0, 0, 0, 0, 0, 0), { k: 3 })).toEqual(
      source.search('docs', vec(1, 0, 0, 0, 0, 0, 0, 0), { k: 3 }),
    )
  })
})
