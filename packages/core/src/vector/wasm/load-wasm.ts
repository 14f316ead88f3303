import { VectorIndexError } from '../errors.js'
import createUsearchModule, { type UsearchModule } from './build/usearch.js'

declare global {
  interface ImportMeta {
    url: string
  }
}

/** The compiled usearch binary, or where to get it. */
export type WasmSource = Uint8Array | ArrayBuffer | UrlLike | string

interface WasmApi {
  compile(bytes: Uint8Array | ArrayBuffer): Promise<unknown>
  instantiate(module: unknown, imports: object): Promise<unknown>
}

interface UrlLike {
  href: string
  protocol: string
}

interface Runtime {
  URL: new (url: string, base?: string) => UrlLike
  WebAssembly: WasmApi
  fetch?: (url: string) => Promise<{ ok: boolean; status: number; arrayBuffer(): Promise<ArrayBuffer> }>
  process?: { versions?: { node?: string } }
  Deno?: unknown
}

const runtime = globalThis as unknown as Runtime
let shared: Promise<UsearchModule> | undefined

/**
 * Instantiates the usearch WebAssembly module once per realm; every index shares its heap.
 * The binary is always handed to the Emscripten loader, so one loader serves browsers,
 * workers, Node, Deno and edge runtimes (pass `source` where files cannot be fetched).
 */
export function loadUsearchWasm(source?: WasmSource): Promise<UsearchModule> {
  if (!shared) {
    shared = instantiate(source)
    shared.catch(() => {
      shared = undefined
    })
  }
  return shared
}

async function instantiate(source?: WasmSource): Promise<UsearchModule> {
  const bytes = await readBinary(source)
  const compiled = await runtime.WebAssembly.compile(bytes)
  return createUsearchModule({
    instantiateWasm(imports, receive) {
      runtime.WebAssembly.instantiate(compiled, imports).then((instance) => receive(instance, compiled))
      return {}
    },
  })
}

async function readBinary(source?: WasmSource): Promise<Uint8Array | ArrayBuffer> {
  if (source instanceof Uint8Array || source instanceof ArrayBuffer) return source
  const url =
    source === undefined
      ? new runtime.URL('./build/usearch.wasm', import.meta.url)
      : new runtime.URL(typeof source === 'string' ? source : source.href)
  const isNode = runtime.process?.versions?.node !== undefined && runtime.Deno === undefined
  // Node's fetch does not read file: URLs; everything else does (or is handed the bytes).
  if (isNode && url.protocol === 'file:') {
    const specifier = 'node:fs/promises'
    const fs = (await import(/* @vite-ignore */ specifier)) as { readFile(u: UrlLike): Promise<Uint8Array> }
    return fs.readFile(url)
  }
  if (!runtime.fetch)
    throw new VectorIndexError(
      'ERR_VECTOR_ENGINE',
      'wasm: no fetch in this runtime; pass the usearch.wasm bytes',
    )
  const response = await runtime.fetch(url.href)
  if (!response.ok)
    throw new VectorIndexError(
      'ERR_VECTOR_ENGINE',
      `wasm: fetching ${url.href} failed: HTTP ${response.status}`,
    )
  return response.arrayBuffer()
}
