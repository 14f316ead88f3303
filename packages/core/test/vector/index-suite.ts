import { describe, expect, it } from 'vitest'
import type { IndexOptions, Metric, VectorIndex } from '../../src/vector/index.js'
import { bruteForce, clustered, exactDistance, rng, row } from './data.js'

export type MakeIndex = (options: IndexOptions) => Promise<VectorIndex> | VectorIndex

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn()
  } catch (err) {
    return (err as { code?: string }).code
  }
  return undefined
}

/** The one behaviour every build of the index must show; run against native and WASM. */
export function describeIndexSuite(engine: string, make: MakeIndex): void {
  describe(`VectorIndex (${engine})`, () => {
    const d = 16

    for (const metric of ['cos', 'ip', 'l2sq'] as Metric[]) {
      it(`adds, finds and measures ${metric} distances like usearch defines them`, async () => {
        const index = await make({ dimensions: d, metric })
        expect(index.engine).toBe(engine)
        const data = clustered(200, d, 1)
        index.addMany(
          Array.from({ length: 200 }, (_, i) => i),
          data,
        )
        expect(index.count()).toBe(200)
        for (const i of [0, 57, 199]) {
          const hits = index.search(row(data, i, d), 5)
          expect(hits.keys.length).toBe(5)
          const expected = bruteForce(metric, data, row(data, i, d), d, 5)
          expect(hits.keys[0]).toBe(expected[0])
          hits.keys.forEach((key, j) => {
            expect(hits.distances[j]).toBeCloseTo(
              exactDistance(metric, row(data, key, d), row(data, i, d)),
              4,
            )
          })
          for (let j = 1; j < hits.distances.length; j++)
            expect(hits.distances[j]).toBeGreaterThanOrEqual(hits.distances[j - 1])
        }
        index.free()
      })
    }

    it('adds one at a time, checks contains, and returns at most count hits', async () => {
      const index = await make({ dimensions: 3, metric: 'l2sq' })
      index.add(10, new Float32Array([1, 0, 0]))
      index.add(20, new Float32Array([0, 1, 0]))
      expect(index.contains(10)).toBe(true)
      expect(index.contains(30)).toBe(false)
      expect(index.count()).toBe(2)
      const hits = index.search(new Float32Array([0.9, 0.1, 0]), 10)
      expect(hits.keys).toEqual([10, 20])
      expect(hits.distances[0]).toBeCloseTo(0.02, 5)
    })

    it('removes keys: count drops, searches skip them, a missing key reports false', async () => {
      const index = await make({ dimensions: d })
      const data = clustered(100, d, 2)
      index.addMany(
        Array.from({ length: 100 }, (_, i) => i),
        data,
      )
      expect(index.remove(7)).toBe(true)
      expect(index.remove(7)).toBe(false)
      expect(index.remove(1000)).toBe(false)
      expect(index.count()).toBe(99)
      expect(index.contains(7)).toBe(false)
      expect(index.search(row(data, 7, d), 10).keys).not.toContain(7)
    })

    it('searches many queries at once with the same answers as one by one', async () => {
      const index = await make({ dimensions: d })
      const data = clustered(300, d, 3)
      index.addMany(
        Array.from({ length: 300 }, (_, i) => i * 3),
        data,
      )
      const queries = clustered(5, d, 4)
      const many = index.searchMany(queries, 4)
      expect(many).toHaveLength(5)
      many.forEach((hits, q) => {
        expect(hits).toEqual(index.search(row(queries, q, d), 4))
      })
    })

    it('reaches high recall on clustered data and more with a larger expansion', async () => {
      const index = await make({ dimensions: d, metric: 'l2sq' })
      const n = 3000
      const data = clustered(n, d, 5, 30)
      index.addMany(
        Array.from({ length: n }, (_, i) => i),
        data,
      )
      const queries = clustered(50, d, 6, 30)
      const truth = Array.from({ length: 50 }, (_, q) => bruteForce('l2sq', data, row(queries, q, d), d, 10))
      const recall = () => {
        let found = 0
        index.searchMany(queries, 10).forEach((hits, q) => {
          found += hits.keys.filter((k) => truth[q].includes(k)).length
        })
        return found / 500
      }
      expect(index.expansion).toBe(64)
      const atDefault = recall()
      expect(atDefault).toBeGreaterThanOrEqual(0.9)
      index.setExpansion(512)
      expect(index.expansion).toBe(512)
      expect(recall()).toBeGreaterThanOrEqual(Math.max(atDefault, 0.99))
      expect(index.count()).toBe(n)
    })

    it('rejects bad input with stable codes and stays usable', async () => {
      const index = await make({ dimensions: 4 })
      index.add(1, new Float32Array([1, 2, 3, 4]))
      expect(codeOf(() => index.add(2, new Float32Array([1, 2, 3])))).toBe('ERR_VECTOR_DIMENSIONS')
      expect(codeOf(() => index.add(-1, new Float32Array(4)))).toBe('ERR_VECTOR_KEY')
      expect(codeOf(() => index.add(1.5, new Float32Array(4)))).toBe('ERR_VECTOR_KEY')
      expect(codeOf(() => index.search(new Float32Array(4), 0))).toBe('ERR_VECTOR_OPTIONS')
      expect(codeOf(() => index.search(new Float32Array(5), 1))).toBe('ERR_VECTOR_DIMENSIONS')
      // usearch refuses a second vector under the same key in a non-multi index.
      expect(codeOf(() => index.add(1, new Float32Array([4, 3, 2, 1])))).toMatch(
        /^ERR_VECTOR_(ENGINE|NATIVE)$/,
      )
      expect(index.count()).toBe(1)
      expect(index.search(new Float32Array([1, 2, 3, 4]), 1).keys).toEqual([1])
    })

    it('serializes and loads back with identical answers, and keeps its expansion', async () => {
      const index = await make({ dimensions: d, metric: 'cos' })
      const data = clustered(500, d, 7)
      index.addMany(
        Array.from({ length: 500 }, (_, i) => i + 1000),
        data,
      )
      index.remove(1003)
      const bytes = index.serialize()
      expect(bytes.length).toBeGreaterThan(500 * d * 4)
      const copy = await make({ dimensions: d, metric: 'cos', expansionSearch: 200 })
      copy.load(bytes)
      expect(copy.count()).toBe(499)
      expect(copy.expansion).toBe(200)
      const queries = clustered(10, d, 8)
      index.setExpansion(200)
      expect(copy.searchMany(queries, 10)).toEqual(index.searchMany(queries, 10))
      // And the copy is writable after load.
      copy.add(5, row(data, 0, d))
      expect(copy.count()).toBe(500)
    })

    it('refuses garbage or mismatched bytes and keeps its contents', async () => {
      const index = await make({ dimensions: 4 })
      index.add(1, new Float32Array([1, 0, 0, 0]))
      expect(codeOf(() => index.load(new Uint8Array([1, 2, 3, 4, 5])))).toMatch(/^ERR_VECTOR_/)
      const other = await make({ dimensions: 8 })
      other.add(1, new Float32Array(8).fill(1))
      expect(codeOf(() => index.load(other.serialize()))).toMatch(/^ERR_VECTOR_/)
      expect(index.count()).toBe(1)
      expect(index.search(new Float32Array([1, 0, 0, 0]), 1).keys).toEqual([1])
    })

    it('views bytes read-only', async () => {
      const index = await make({ dimensions: 4, metric: 'l2sq' })
      index.addMany([1, 2], new Float32Array([1, 0, 0, 0, 0, 1, 0, 0]))
      const viewer = await make({ dimensions: 4, metric: 'l2sq' })
      viewer.view(index.serialize())
      expect(viewer.readOnly).toBe(true)
      expect(viewer.search(new Float32Array([0, 1, 0, 0]), 1).keys).toEqual([2])
      expect(codeOf(() => viewer.add(3, new Float32Array(4)))).toBe('ERR_VECTOR_READ_ONLY')
      expect(codeOf(() => viewer.remove(1))).toBe('ERR_VECTOR_READ_ONLY')
    })

    it('throws a clear error when used after free', async () => {
      const index = await make({ dimensions: 4 })
      index.free()
      index.free()
      expect(codeOf(() => index.count())).toBe('ERR_VECTOR_FREED')
    })

    // Past 16 MiB of vectors the WASM build touches neighbours' vectors before measuring them
    // (its cache-miss path); answers must not change, with and without removed keys.
    for (const metric of ['l2sq', 'cos'] as const) {
      it(`answers the same on an index larger than the caches (${metric}, 17 MB of vectors)`, async () => {
        const wide = 512
        const n = 8500
        const index = await make({ dimensions: wide, metric })
        // 8-d clustered points embedded in 512-d: wide vectors with well-defined neighbours.
        const embed = (latent: Float32Array) => {
          const r = rng(23)
          const basis = Float32Array.from({ length: 8 * wide }, () => r() * 2 - 1)
          const out = new Float32Array((latent.length / 8) * wide)
          for (let i = 0; i < latent.length / 8; i++)
            for (let j = 0; j < wide; j++) {
              let x = 0
              for (let l = 0; l < 8; l++) x += latent[i * 8 + l] * basis[l * wide + j]
              out[i * wide + j] = x
            }
          return out
        }
        const data = embed(clustered(n, 8, 21, 20))
        index.addMany(
          Array.from({ length: n }, (_, i) => i),
          data,
        )
        const queries = embed(clustered(20, 8, 22, 20))
        const truth = Array.from({ length: 20 }, (_, q) =>
          bruteForce(metric, data, row(queries, q, wide), wide, 11),
        )
        const recall = (skip: Set<number>) => {
          let found = 0
          index.searchMany(queries, 10).forEach((hits, q) => {
            expect(hits).toEqual(index.search(row(queries, q, wide), 10))
            expect(hits.keys).toHaveLength(10)
            for (const key of hits.keys) expect(skip.has(key)).toBe(false)
            const best = truth[q].filter((k) => !skip.has(k)).slice(0, 10)
            found += hits.keys.filter((k) => best.includes(k)).length
          })
          return found / 200
        }
        expect(recall(new Set())).toBeGreaterThanOrEqual(0.9)
        for (let i = 0; i < n; i += 850) {
          const hits = index.search(row(data, i, wide), 3)
          expect(hits.keys[0]).toBe(i)
          expect(hits.distances[0]).toBeCloseTo(0, 3)
        }
        // Remove every query's best hit: none may come back, and the rest are still found.
        const removed = new Set(truth.map((t) => t[0]))
        for (const key of removed) expect(index.remove(key)).toBe(true)
        expect(recall(removed)).toBeGreaterThanOrEqual(0.9)
      })
    }

    for (const quantization of ['f16', 'i8'] as const) {
      it(`stores ${quantization} vectors and still finds exact matches`, async () => {
        const index = await make({ dimensions: d, metric: 'cos', quantization })
        const data = clustered(300, d, 9)
        index.addMany(
          Array.from({ length: 300 }, (_, i) => i),
          data,
        )
        let self = 0
        for (let i = 0; i < 300; i += 10) if (index.search(row(data, i, d), 1).keys[0] === i) self++
        expect(self).toBeGreaterThanOrEqual(27)
        const copy = await make({ dimensions: d, metric: 'cos', quantization })
        copy.load(index.serialize())
        expect(copy.search(row(data, 10, d), 3)).toEqual(index.search(row(data, 10, d), 3))
      })
    }
  })
}
