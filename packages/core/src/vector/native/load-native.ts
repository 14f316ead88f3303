import { VectorIndexError } from '../errors.js'

/** The part of the `usearch` addon's JS API this project uses. */
export interface UsearchNativeIndex {
  add(keys: BigUint64Array, vectors: Float32Array, threads: number): void
  search(vector: Float32Array, k: number, threads: number): { keys: BigUint64Array; distances: Float32Array }
  contains(key: bigint): boolean
  remove(key: bigint): number
  size(): number
  dimensions(): number
  save(path: string): void
  load(path: string): void
}

export interface UsearchAddon {
  Index: new (config: {
    dimensions: number
    metric: string
    quantization: string
    connectivity: number
    expansion_add: number
    expansion_search: number
    multi: boolean
  }) => UsearchNativeIndex
}

interface NodeFs {
  readFileSync(path: string): Uint8Array
  writeFileSync(path: string, data: Uint8Array): void
  rmSync(path: string, options: { force: boolean }): void
  mkdtempSync(prefix: string): string
}

export interface NativeModule {
  addon: UsearchAddon
  fs: NodeFs
  withTempFile<T>(fn: (path: string) => T): T
}

let shared: Promise<NativeModule> | undefined

// Specifiers held in variables keep bundlers and type-checkers from following them: core must
// carry no static reference to a native module or a Node built-in.
const ADDON = 'usearch'
const FS = 'node:fs'
const OS = 'node:os'

/** Loads the addon on first use; rejects (with ERR_VECTOR_ENGINE) where it cannot load. */
export function loadUsearchNative(): Promise<NativeModule> {
  if (!shared) {
    shared = load()
    shared.catch(() => {
      shared = undefined
    })
  }
  return shared
}

async function load(): Promise<NativeModule> {
  try {
    const imported = await import(/* @vite-ignore */ ADDON)
    const addon = (imported.default ?? imported) as UsearchAddon
    const fs = (await import(/* @vite-ignore */ FS)) as NodeFs
    const os = (await import(/* @vite-ignore */ OS)) as { tmpdir(): string }
    const dir = fs.mkdtempSync(`${os.tmpdir()}/flotilla-usearch-`)
    let counter = 0
    return {
      addon,
      fs,
      withTempFile(fn) {
        const path = `${dir}/${++counter}.usearch`
        try {
          return fn(path)
        } finally {
          fs.rmSync(path, { force: true })
        }
      },
    }
  } catch (err) {
    throw new VectorIndexError(
      'ERR_VECTOR_ENGINE',
      `native: cannot load the usearch addon: ${(err as Error).message}`,
    )
  }
}
