import { createIndex } from '@flotilla/core'

/** Bare usearch (native) inserting `data` in batches on this thread: vectors per second. */
export async function bareIngest(data: Float32Array, dimensions: number, batch: number): Promise<number> {
  const n = data.length / dimensions
  const index = await createIndex({ dimensions, metric: 'cos', engine: 'native' })
  const started = performance.now()
  for (let i = 0; i < n; i += batch) {
    const rows = Math.min(batch, n - i)
    index.addMany(
      Array.from({ length: rows }, (_, j) => i + j),
      data.subarray(i * dimensions, (i + rows) * dimensions),
    )
  }
  const seconds = (performance.now() - started) / 1000
  index.free()
  return n / seconds
}
