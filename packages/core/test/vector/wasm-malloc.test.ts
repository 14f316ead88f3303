import { describe, expect, it } from 'vitest'
import { resolveIndexOptions, VectorIndexError } from '../../src/vector/index.js'
import createUsearchModule, { type UsearchModule } from '../../src/vector/wasm/build/usearch.js'
import { WasmIndex } from '../../src/vector/wasm/wasm-index.js'

const load = (m: string) => import(/* @vite-ignore */ m)
const { readFileSync } = await load('node:fs')
declare const URL: new (url: string, base: string) => object
// core's tsconfig has no DOM or Node types: the one WebAssembly call this test needs.
const { WebAssembly: wasm } = globalThis as unknown as {
  WebAssembly: {
    compile(bytes: Uint8Array): Promise<object>
    instantiate(module: object, imports: object): Promise<unknown>
  }
}

// A module of its own, so a heap that "fills up" here cannot disturb other tests.
async function freshModule(): Promise<UsearchModule> {
  const bytes = readFileSync(new URL('../../src/vector/wasm/build/usearch.wasm', import.meta.url))
  const compiled = await wasm.compile(bytes)
  return createUsearchModule({
    instantiateWasm(imports, receive) {
      wasm.instantiate(compiled, imports).then((instance) => receive(instance, compiled))
      return {}
    },
  })
}

describe('wasm: a full heap', () => {
  it('_malloc answering 0 fails each call cleanly, writes nothing at address 0, and the index recovers', async () => {
    const m = await freshModule()
    const index = new WasmIndex(m, resolveIndexOptions({ dimensions: 4, metric: 'l2sq' }))
    index.addMany([1, 2], new Float32Array([1, 0, 0, 0, 0, 1, 0, 0]))
    const saved = index.serialize()
    const low = m.HEAPU8.slice(0, 4096)
    const malloc = m._malloc
    m._malloc = () => 0
    const full = (fn: () => unknown) =>
      expect(fn).toThrow(expect.objectContaining({ code: 'ERR_VECTOR_OUT_OF_MEMORY' }))
    try {
      full(() => index.addMany([3, 4], new Float32Array(8).fill(0.5)))
      full(() => index.searchMany(new Float32Array(8), 2))
      full(() => index.serialize())
      full(() => index.load(saved))
      // The scratch block (64 KiB) serves small searches; a larger one needs a new block.
      full(() => index.search(new Float32Array(4), 9000))
    } finally {
      m._malloc = malloc
    }
    expect(() => index.addMany([3], new Float32Array(4))).not.toThrow(VectorIndexError)
    expect(m.HEAPU8.slice(0, 4096)).toEqual(low)
    expect(index.count()).toBe(3)
    expect(index.search(new Float32Array([1, 0, 0, 0]), 1).keys).toEqual([1])
    index.load(saved)
    expect(index.count()).toBe(2)
  })
})
