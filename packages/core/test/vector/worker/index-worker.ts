// Runs in a dedicated Web Worker: builds a WASM index with the default engine and reports.
import { createIndex } from '../../../src/vector/index.js'
import { clustered, row } from '../data.js'

interface WorkerScope {
  onmessage: ((event: { data: { native: Uint8Array } }) => void) | null
  postMessage(message: unknown): void
}
const scope = globalThis as unknown as WorkerScope

scope.onmessage = async (event) => {
  try {
    const d = 16
    const index = await createIndex({ dimensions: d, metric: 'l2sq' })
    const data = clustered(400, d, 41)
    index.addMany(
      Array.from({ length: 400 }, (_, i) => i),
      data,
    )
    const self = [0, 200, 399].map((i) => index.search(row(data, i, d), 1).keys[0])
    const copy = await createIndex({ dimensions: d, metric: 'l2sq' })
    copy.load(event.data.native)
    scope.postMessage({
      engine: index.engine,
      count: index.count(),
      self,
      bytes: index.serialize(),
      loadedCount: copy.count(),
      loadedHits: copy.search(row(data, 5, d), 3).keys,
    })
  } catch (err) {
    scope.postMessage({ error: String(err) })
  }
}
