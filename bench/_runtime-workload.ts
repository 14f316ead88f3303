import { createIndex, type WasmSource } from '@flotilla/core'
import { mixture } from './_vector-data.ts'

/**
 * One search workload that every runtime runs the same way (Node, Deno, workerd): a seeded
 * clustered data set in a usearch index, then timed single-query searches. Runtime-neutral: it
 * imports only @flotilla/core and the seeded generator, and takes the clock it is given.
 */
export interface WorkloadOptions {
  engine: 'native' | 'wasm'
  wasm?: WasmSource
  n: number
  d: number
  queries: number
  k: number
  /** Timed passes over the queries; the best pass counts (the least disturbed by neighbours). */
  passes: number
  now(): number
}

export interface WorkloadResult {
  engine: string
  n: number
  d: number
  queries: number
  qps: number
  /** Sum of every hit's key: equal across runtimes when they run the same index and queries. */
  checksum: number
}

export async function runSearchWorkload(o: WorkloadOptions): Promise<WorkloadResult> {
  const index = await createIndex({ dimensions: o.d, metric: 'l2sq', engine: o.engine, wasm: o.wasm })
  const data = mixture(o.d, 32, 0.15, 7)
  index.addMany(
    Array.from({ length: o.n }, (_, i) => i),
    data.sample(o.n, 11),
  )
  const queries = data.sample(o.queries, 13)
  const query = (i: number) => queries.subarray(i * o.d, (i + 1) * o.d)
  let checksum = 0
  for (let i = 0; i < o.queries; i++)
    for (const key of index.search(query(i), o.k).keys) checksum += Number(key)
  let best = Number.POSITIVE_INFINITY
  for (let pass = 0; pass < o.passes; pass++) {
    const t0 = o.now()
    for (let i = 0; i < o.queries; i++) index.search(query(i), o.k)
    best = Math.min(best, o.now() - t0)
  }
  return {
    engine: index.engine,
    n: o.n,
    d: o.d,
    queries: o.queries,
    qps: (o.queries * 1000) / best,
    checksum,
  }
}
