import { VectorIndexError } from '../errors.js'
import { checkExpansion, checkK, checkKey, checkRows } from '../options.js'
import type { ResolvedIndexOptions, SearchHits, VectorIndex } from '../types.js'
import type { NativeModule, UsearchNativeIndex } from './load-native.js'

/**
 * The `usearch` Node addon. Its JS API saves and loads by path only, so bytes go through a
 * temp file; its search expansion is fixed at construction, so `setExpansion` rebuilds the
 * wrapper around the same graph by a save/load round trip.
 */
export class NativeIndex implements VectorIndex {
  readonly engine = 'native'
  readonly options: ResolvedIndexOptions
  #mod: NativeModule
  #index: UsearchNativeIndex | undefined
  #expansion: number
  #readOnly = false

  constructor(mod: NativeModule, options: ResolvedIndexOptions) {
    this.#mod = mod
    this.options = options
    this.#expansion = options.expansionSearch
    this.#index = this.#create(this.#expansion)
  }

  #create(expansion: number): UsearchNativeIndex {
    const o = this.options
    return new this.#mod.addon.Index({
      dimensions: o.dimensions,
      metric: o.metric,
      quantization: o.quantization,
      connectivity: o.connectivity,
      expansion_add: o.expansionAdd,
      expansion_search: expansion,
      multi: false,
    })
  }

  get readOnly(): boolean {
    return this.#readOnly
  }

  get expansion(): number {
    return this.#expansion
  }

  setExpansion(expansion: number): void {
    checkExpansion(expansion)
    if (expansion === this.#expansion) return
    const bytes = this.serialize()
    const fresh = this.#create(expansion)
    this.#loadInto(fresh, bytes, this.#readOnly)
    this.#index = fresh
    this.#expansion = expansion
  }

  add(key: number, vector: Float32Array): void {
    this.addMany([key], vector)
  }

  addMany(keys: readonly number[], vectors: Float32Array): void {
    const index = this.#writable()
    checkRows('vectors', vectors, this.options.dimensions, keys.length)
    for (const key of keys) checkKey(key)
    if (keys.length === 0) return
    // One thread: replicas apply the same commands in the same order into the same graph.
    this.#call('add', () => index.add(BigUint64Array.from(keys, BigInt), vectors, 1))
  }

  remove(key: number): boolean {
    checkKey(key)
    const index = this.#writable()
    return this.#call('remove', () => index.remove(BigInt(key))) > 0
  }

  contains(key: number): boolean {
    checkKey(key)
    return this.#live().contains(BigInt(key))
  }

  count(): number {
    return this.#live().size()
  }

  search(query: Float32Array, k: number): SearchHits {
    checkRows('query', query, this.options.dimensions, 1)
    return this.searchMany(query, k)[0]
  }

  searchMany(queries: Float32Array, k: number): SearchHits[] {
    const index = this.#live()
    checkK(k)
    const n = checkRows('queries', queries, this.options.dimensions)
    const out: SearchHits[] = []
    const d = this.options.dimensions
    for (let q = 0; q < n; q++) {
      const m = index.search(queries.subarray(q * d, (q + 1) * d), k, 1)
      const hits: SearchHits = { keys: new Array(m.keys.length), distances: new Array(m.keys.length) }
      for (let i = 0; i < m.keys.length; i++) {
        hits.keys[i] = Number(m.keys[i])
        hits.distances[i] = m.distances[i]
      }
      out.push(hits)
    }
    return out
  }

  serialize(): Uint8Array {
    const index = this.#live()
    return this.#mod.withTempFile((path) => {
      this.#call('serialize', () => index.save(path))
      return this.#mod.fs.readFileSync(path)
    })
  }

  load(bytes: Uint8Array): void {
    this.#replace(bytes, false)
  }

  view(bytes: Uint8Array): void {
    // The addon can only memory-map a file it keeps open; a load gives the same read-only use.
    this.#replace(bytes, true)
  }

  #replace(bytes: Uint8Array, readOnly: boolean): void {
    this.#live()
    const fresh = this.#create(this.#expansion)
    this.#loadInto(fresh, bytes, readOnly)
    this.#index = fresh
    this.#readOnly = readOnly
  }

  #loadInto(fresh: UsearchNativeIndex, bytes: Uint8Array, _readOnly: boolean): void {
    this.#mod.withTempFile((path) => {
      this.#mod.fs.writeFileSync(path, bytes)
      this.#call('load', () => fresh.load(path))
    })
    if (fresh.dimensions() !== this.options.dimensions)
      throw new VectorIndexError('ERR_VECTOR_DIMENSIONS', 'bytes: serialized index has other dimensions')
  }

  free(): void {
    // The addon frees its memory when the wrapper is garbage-collected.
    this.#index = undefined
  }

  #live(): UsearchNativeIndex {
    if (!this.#index) throw new VectorIndexError('ERR_VECTOR_FREED', 'index: used after free()')
    return this.#index
  }

  #writable(): UsearchNativeIndex {
    const index = this.#live()
    if (this.#readOnly)
      throw new VectorIndexError('ERR_VECTOR_READ_ONLY', 'index: a viewed index is read-only')
    return index
  }

  #call<T>(op: string, fn: () => T): T {
    try {
      return fn()
    } catch (err) {
      throw new VectorIndexError('ERR_VECTOR_NATIVE', `native ${op}: ${(err as Error).message}`)
    }
  }
}
