import { VectorIndexError } from './errors.js'
import { loadUsearchNative } from './native/load-native.js'
import { NativeIndex } from './native/native-index.js'
import { resolveIndexOptions } from './options.js'
import type { Engine, IndexOptions, VectorIndex } from './types.js'
import { loadUsearchWasm, type WasmSource } from './wasm/load-wasm.js'
import { WasmIndex } from './wasm/wasm-index.js'

export interface EngineChoice {
  /** `auto` (default): native in Node when the addon loads, WASM everywhere else. */
  engine?: Engine | 'auto'
  /** The usearch.wasm bytes or URL, for runtimes that cannot fetch the bundled file. */
  wasm?: WasmSource
}

export type CreateIndexOptions = IndexOptions & EngineChoice

interface Runtime {
  process?: { versions?: { node?: string } }
  Deno?: unknown
  Bun?: unknown
}

/** True in Node itself (not Deno or Bun, which also define `process`). */
export function isNode(): boolean {
  const g = globalThis as unknown as Runtime
  return g.process?.versions?.node !== undefined && g.Deno === undefined && g.Bun === undefined
}

/** Resolves the engine once: `auto` tries the addon in Node and falls back to WASM. */
export async function resolveEngine(choice: EngineChoice = {}): Promise<Engine> {
  const engine = choice.engine ?? 'auto'
  if (engine === 'native') {
    await loadUsearchNative()
    return 'native'
  }
  if (engine === 'wasm') return 'wasm'
  if (engine !== 'auto')
    throw new VectorIndexError('ERR_VECTOR_OPTIONS', `engine must be native, wasm or auto`)
  if (isNode()) {
    try {
      await loadUsearchNative()
      return 'native'
    } catch {
      return 'wasm'
    }
  }
  return 'wasm'
}

/** A factory bound to one engine, so many indexes can be made synchronously (state machine). */
export type IndexFactory = ((options: IndexOptions) => VectorIndex) & { engine: Engine }

export async function indexFactory(choice: EngineChoice = {}): Promise<IndexFactory> {
  const engine = await resolveEngine(choice)
  if (engine === 'native') {
    const mod = await loadUsearchNative()
    return Object.assign((o: IndexOptions) => new NativeIndex(mod, resolveIndexOptions(o)), { engine })
  }
  const mod = await loadUsearchWasm(choice.wasm)
  return Object.assign((o: IndexOptions) => new WasmIndex(mod, resolveIndexOptions(o)), { engine })
}

export async function createIndex(options: CreateIndexOptions): Promise<VectorIndex> {
  const { engine, wasm, ...indexOptions } = options
  const make = await indexFactory({ engine, wasm })
  return make(indexOptions)
}
