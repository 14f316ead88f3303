import { expect, it } from 'vitest'
import { createIndex } from '../../src/vector/index.js'
import { clustered, row } from './data.js'

interface WorkerLike {
  postMessage(message: unknown): void
  onmessage: ((event: { data: Record<string, unknown> }) => void) | null
  onerror: ((event: unknown) => void) | null
  terminate(): void
}
const g = globalThis as unknown as {
  Worker: new (url: unknown, options: { type: 'module' }) => WorkerLike
  URL: new (url: string, base: string) => unknown
}

it('runs in a Web Worker and exchanges serialized indexes with the page', async () => {
  const d = 16
  const data = clustered(400, d, 41)
  // Made on the page (WASM too); the worker loads it.
  const page = await createIndex({ dimensions: d, metric: 'l2sq' })
  page.addMany(
    Array.from({ length: 400 }, (_, i) => i),
    data,
  )
  const worker = new g.Worker(new g.URL('./worker/index-worker.ts', import.meta.url), { type: 'module' })
  const reply = await new Promise<Record<string, unknown>>((resolve, reject) => {
    worker.onmessage = (e) => resolve(e.data)
    worker.onerror = (e) =>
      reject(new Error(`worker failed: ${String((e as { message?: string }).message ?? e)}`))
    worker.postMessage({ native: page.serialize() })
  })
  worker.terminate()
  expect(reply.error).toBeUndefined()
  expect(reply.engine).toBe('wasm')
  expect(reply.count).toBe(400)
  expect(reply.self).toEqual([0, 200, 399])
  expect(reply.loadedCount).toBe(400)
  expect(reply.loadedHits).toEqual(page.search(row(data, 5, d), 3).keys)
  const back = await createIndex({ dimensions: d, metric: 'l2sq' })
  back.load(reply.bytes as Uint8Array)
  expect(back.count()).toBe(400)
})
