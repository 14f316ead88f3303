import { VectorIndexError } from '../errors.js'
import createUsearchModule, { type UsearchModule } from './build/usearch.js'

declare global {
  interface ImportMeta {
    url: string
  }
}

/**
 * The usearch binary, or where to get it, or the module already compiled: runtimes that forbid
 * compiling WebAssembly from bytes (workerd) import the .wasm file as a module and pass that.
 */
export type WasmSource = WasmBytes | CompiledWasm

type WasmBytes = Uint8Array | ArrayBuffer | UrlLike | string

/** A `WebAssembly.Module` (core compiles without DOM types, so it is opaque here). */
export type CompiledWasm = object

interface WasmApi {
  Module: abstract new (...args: never[]) => CompiledWasm
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
  const compiled =
    source instanceof runtime.WebAssembly.Module
      ? source
      : await runtime.WebAssembly.compile(await readBinary(source as WasmBytes | undefined))
  return createUsearchModule({
    // The binary is handed over below; without this the loader would still build a URL from
    // import.meta.url, which workerd does not set.
    locateFile: (path) => path,
    instantiateWasm(imports, receive) {
      runtime.WebAssembly.instantiate(compiled, imports).then((instance) => receive(instance, compiled))
      return {}
    },
  })
}

async function readBinary(source?: WasmBytes): Promise<Uint8Array | ArrayBuffer> {
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
