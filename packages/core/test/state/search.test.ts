import { describe, expect, it } from 'vitest'
import { distance } from '../../src/state/distance.js'
import type { Metadata } from '../../src/state/index.js'
import {
  type Filter,
  type Hit,
  MAX_SEARCH_EF,
  MAX_SEARCH_K,
  StateMachineError,
} from '../../src/state/index.js'
import { clustered, row } from '../vector/data.js'
import { machineWithDocs } from './helpers.js'

function exact(
  sm: Awaited<ReturnType<typeof machineWithDocs>>,
  q: Float32Array,
  k: number,
  keep: (m: Metadata) => boolean,
) {
  const c = sm.collections.get('docs')!
  return [...c.items.values()]
    .filter((it) => keep(it.metadata!))
    .map((it) => ({ id: it.id, d: distance('cos', q, it.vector) }))
    .sort((a, b) => a.d - b.d)
    .slice(0, k)
    .map((h) => h.id)
}

const ids = (hits: Hit[]) => hits.map((h) => h.id)

describe('search', () => {
  for (const engine of ['native', 'wasm'] as const) {
    it(`${engine}: k nearest with id, distance and metadata; ef is honoured`, async () => {
      const sm = await machineWithDocs(engine)
      const q = Float32Array.from(row(clustered(200, 8, 31), 42, 8))
      const hits = sm.search('docs', q, { k: 5, ef: 100 })
      expect(hits).toHaveLength(5)
      expect(hits[0]).toEqual({
        id: 'doc-42',
        distance: expect.closeTo(0, 5),
        metadata: { i: 42, group: 2, tag: 'even' },
      })
      // ef is this query's alone: the collection keeps its own.
      expect(sm.collections.get('docs')!.index.expansion).toBe(64)
      expect(ids(hits)).toEqual(exact(sm, q, 5, () => true))
    })
  }

  const filters: [string, Filter, (m: Metadata) => boolean][] = [
    ['equality (half the items)', { tag: 'odd' }, (m) => m.tag === 'odd'],
    ['$in', { group: { $in: [1, 7] } }, (m) => m.group === 1 || m.group === 7],
    ['range', { i: { $gte: 20, $lt: 180 } }, (m) => (m.i as number) >= 20 && (m.i as number) < 180],
    [
      'selective range + equality',
      { i: { $gt: 150 }, tag: 'even' },
      (m) => (m.i as number) > 150 && m.tag === 'even',
    ],
    ['single match', { i: 3 }, (m) => m.i === 3],
  ]
  for (const [what, filter, keep] of filters) {
    it(`filter ${what}: k hits when k match, all matching, nearest first`, async () => {
      const sm = await machineWithDocs('wasm')
      const queries = clustered(5, 8, 77)
      for (let q = 0; q < 5; q++) {
        const query = row(queries, q, 8)
        const hits = sm.search('docs', query, { k: 10, filter })
        const truth = exact(sm, query, 10, keep)
        expect(hits).toHaveLength(truth.length)
        for (const h of hits) expect(keep(h.metadata!)).toBe(true)
        // Small matching sets are scanned exactly.
        expect(ids(hits)).toEqual(truth)
      }
    })
  }

  it('a broad filter over a large collection goes through the graph and still returns k matches', async () => {
    const sm = await machineWithDocs('native', 3000, 8)
    const queries = clustered(10, 8, 78)
    let recall = 0
    for (let q = 0; q < 10; q++) {
      const query = row(queries, q, 8)
      const hits = sm.search('docs', query, { k: 10, filter: { group: { $in: [0, 1, 2, 3, 4] } } })
      expect(hits).toHaveLength(10)
      for (const h of hits) expect(h.metadata!.group).toBeLessThan(5)
      const truth = exact(sm, query, 10, (m) => (m.group as number) < 5)
      recall += ids(hits).filter((id) => truth.includes(id)).length / 10
    }
    expect(recall / 10).toBeGreaterThanOrEqual(0.9)
  })

  it('rejects bad queries and filters, naming the field', async () => {
    const sm = await machineWithDocs('wasm', 20)
    const q = new Float32Array(8)
    const codeAndField = (fn: () => unknown) => {
      try {
        fn()
      } catch (err) {
        expect(err).toBeInstanceOf(StateMachineError)
        return [(err as StateMachineError).code, (err as StateMachineError).field]
      }
      return null
    }
    expect(codeAndField(() => sm.search('docs', new Float32Array(3), { k: 1 }))).toEqual([
      'ERR_DIMENSION_MISMATCH',
      'query',
    ])
    expect(codeAndField(() => sm.search('docs', q, { k: 0 }))).toEqual(['ERR_INVALID_COMMAND', 'k'])
    expect(codeAndField(() => sm.search('nope', q, { k: 1 }))).toEqual([
      'ERR_UNKNOWN_COLLECTION',
      'collection',
    ])
    expect(codeAndField(() => sm.search('docs', q, { k: 1, filter: { i: { $near: 1 } as never } }))).toEqual([
      'ERR_INVALID_FILTER',
      'filter.i',
    ])
    expect(codeAndField(() => sm.search('docs', q, { k: 1, filter: { i: { $gt: 'x' } as never } }))).toEqual([
      'ERR_INVALID_FILTER',
      'filter.i.$gt',
    ])
  })

  it('ef is per query and bounded: a huge ef is refused and leaves later searches working', async () => {
    const sm = await machineWithDocs('wasm', 300)
    const q = Float32Array.from(row(clustered(300, 8, 31), 5, 8))
    const before = sm.search('docs', q, { k: 5 })
    expect(() => sm.search('docs', q, { k: 5, ef: 1e9 })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_COMMAND', field: 'ef' }),
    )
    expect(() => sm.search('docs', q, { k: MAX_SEARCH_K + 1 })).toThrow(
      expect.objectContaining({ field: 'k' }),
    )
    const wide = sm.search('docs', q, { k: 5, ef: MAX_SEARCH_EF })
    expect(ids(wide)).toEqual(exact(sm, q, 5, () => true))
    expect(sm.collections.get('docs')!.index.expansion).toBe(64)
    expect(sm.search('docs', q, { k: 5 })).toEqual(before)
  })

  it('native: a per-query ef costs no save and reload of the index', async () => {
    const sm = await machineWithDocs('native', 300)
    const index = sm.collections.get('docs')!.index
    let saves = 0
    const serialize = index.serialize.bind(index)
    index.serialize = () => {
      saves++
      return serialize()
    }
    const q = Float32Array.from(row(clustered(300, 8, 31), 9, 8))
    for (const ef of [16, 200, 64, 500]) expect(sm.search('docs', q, { k: 3, ef })[0].id).toBe('doc-9')
    expect(saves).toBe(0)
  })
})
