import { fileURLToPath } from 'node:url'
import { createIndex } from '@flotilla/core'
import { afterAll, describe, expect, it } from 'vitest'
import { clustered } from '../../../packages/core/test/vector/data.js'
import { bundleWorker, startWorkerd } from '../../../scripts/runtimes/workerd.js'

const script = await bundleWorker(fileURLToPath(new URL('./fixtures/index-worker.ts', import.meta.url)))
const workerd = await startWorkerd(script)
afterAll(() => workerd.stop())

describe('the WASM index in workerd', () => {
  it('loads usearch.wasm as a module, reads an index the native addon wrote, answers the same', async () => {
    const d = 16
    const native = await createIndex({ dimensions: d, metric: 'l2sq', engine: 'native' })
    native.addMany(
      Array.from({ length: 300 }, (_, i) => i + 5000),
      clustered(300, d, 23),
    )
    const res = await fetch(`${workerd.url}/load`, { method: 'POST', body: native.serialize() })
    const body = await res.text()
    expect(res.status, body).toBe(200)
    const seen = JSON.parse(body)
    expect(seen.engine).toBe('wasm')
    expect(seen.count).toBe(300)
    expect(seen.ownCount).toBe(200)
    expect(seen.hits).toEqual(native.searchMany(clustered(10, d, 22), 5).map((h) => h.keys))
  })
})
