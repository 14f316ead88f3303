import { describe, expect, it } from 'vitest'
import { createIndex, type Metric } from '../../src/vector/index.js'
import { clustered, row } from './data.js'

// usearch 2.26.2's native addon and our WASM build share one file format; replicas rely on it.
describe('native and WASM read each other’s serialized indexes', () => {
  const d = 24
  for (const metric of ['cos', 'ip', 'l2sq'] as Metric[]) {
    for (const [from, to] of [
      ['native', 'wasm'],
      ['wasm', 'native'],
    ] as const) {
      it(`${metric}: ${from} -> ${to}`, async () => {
        const source = await createIndex({ dimensions: d, metric, engine: from })
        const data = clustered(800, d, 11)
        source.addMany(
          Array.from({ length: 800 }, (_, i) => i * 7 + 1),
          data,
        )
        source.remove(8)
        const target = await createIndex({ dimensions: d, metric, engine: to })
        target.load(source.serialize())
        expect(target.engine).toBe(to)
        expect(target.count()).toBe(799)
        expect(target.contains(8)).toBe(false)
        expect(target.contains(15)).toBe(true)
        const queries = clustered(20, d, 12)
        const a = source.searchMany(queries, 10)
        const b = target.searchMany(queries, 10)
        // Same graph, same traversal: same keys; distances agree to float rounding.
        b.forEach((hits, q) => {
          expect(hits.keys).toEqual(a[q].keys)
          hits.distances.forEach((x, j) => {
            expect(x).toBeCloseTo(a[q].distances[j], 4)
          })
        })
        // Under ip a point need not be its own nearest neighbour; under cos and l2sq it is.
        if (metric !== 'ip') expect(target.search(row(data, 3, d), 1).keys).toEqual([22])
      })
    }
  }
})
