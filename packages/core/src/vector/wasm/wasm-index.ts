import { VectorIndexError } from '../errors.js'
import { checkExpansion, checkK, checkKey, checkRows } from '../options.js'
import type { ResolvedIndexOptions, SearchHits, VectorIndex } from '../types.js'
import type { UsearchModule } from './build/usearch.js'

const METRIC_CODES = { cos: 0, ip: 1, l2sq: 2 } as const

/**
 * `_malloc` answers 0 when the heap cannot grow (it is capped at 2 GiB and shared by every
 * index of the realm); writing through that pointer would overwrite linear memory from address 0.
 */
function alloc(m: UsearchModule, bytes: number): number {
  const ptr = m._malloc(bytes)
  if (ptr === 0)
    throw new VectorIndexError(
      'ERR_VECTOR_OUT_OF_MEMORY',
      `wasm: cannot allocate ${bytes} bytes; the WebAssembly heap is full`,
    )
  return ptr
}

/** One reusable heap block per module: JS is single-threaded, so calls never overlap. */
const scratch = new WeakMap<UsearchModule, { ptr: number; bytes: number }>()

function scratchOf(m: UsearchModule, bytes: number): number {
  let s = scratch.get(m)
  if (!s || s.bytes < bytes) {
    const size = Math.max(bytes, 64 * 1024)
    // Allocate before freeing the old block, so a failure leaves the old one in place.
    s = { ptr: alloc(m, size), bytes: size }
    const old = scratch.get(m)
    if (old) m._free(old.ptr)
    scratch.set(m, s)
  }
  return s.ptr
}
const SCALAR_CODES = { f32: 0, f16: 1, i8: 2 } as const

/** usearch compiled to WebAssembly; all indexes of a realm share one module and heap. */
export class WasmIndex implements VectorIndex {
  readonly engine = 'wasm'
  readonly options: ResolvedIndexOptions
  #mod: UsearchModule
  #ptr: number
  #viewPtr = 0
  #readOnly = false

  constructor(mod: UsearchModule, options: ResolvedIndexOptions) {
    this.#mod = mod
    this.options = options
    this.#ptr = this.#create()
  }

  #create(): number {
    const o = this.options
    const ptr = this.#mod._fl_new(
      o.dimensions,
      METRIC_CODES[o.metric],
      SCALAR_CODES[o.quantization],
      o.connectivity,
      o.expansionAdd,
      o.expansionSearch,
    )
    if (ptr === 0) this.#fail('create')
    return ptr
  }

  get readOnly(): boolean {
    return this.#readOnly
  }

  get expansion(): number {
    return this.#mod._fl_expansion_search(this.#live())
  }

  setExpansion(expansion: number): void {
    checkExpansion(expansion)
    this.#mod._fl_change_expansion_search(this.#live(), expansion)
  }

  add(key: number, vector: Float32Array): void {
    const ptr = this.#writable()
    checkRows('vector', vector, this.options.dimensions, 1)
    checkKey(key)
    const m = this.#mod
    const at = scratchOf(m, vector.byteLength)
    m.HEAPF32.set(vector, at >>> 2)
    if (m._fl_add_one(ptr, key, at) !== 0) this.#fail('add')
  }

  addMany(keys: readonly number[], vectors: Float32Array): void {
    const ptr = this.#writable()
    checkRows('vectors', vectors, this.options.dimensions, keys.length)
    for (const key of keys) checkKey(key)
    if (keys.length === 0) return
    const m = this.#mod
    const keysPtr = alloc(m, keys.length * 8)
    let vectorsPtr = 0
    try {
      vectorsPtr = alloc(m, vectors.byteLength)
      const heapKeys = new BigUint64Array(m.HEAPU8.buffer, keysPtr, keys.length)
      for (let i = 0; i < keys.length; i++) heapKeys[i] = BigInt(keys[i])
      m.HEAPF32.set(vectors, vectorsPtr >>> 2)
      if (m._fl_add_many(ptr, keysPtr, vectorsPtr, keys.length) !== 0) this.#fail('add')
    } finally {
      m._free(keysPtr)
      m._free(vectorsPtr)
    }
  }

  remove(key: number): boolean {
    checkKey(key)
    const removed = this.#mod._fl_remove(this.#writable(), BigInt(key))
    if (removed < 0) this.#fail('remove')
    return removed > 0
  }

  contains(key: number): boolean {
    checkKey(key)
    return this.#mod._fl_contains(this.#live(), BigInt(key)) === 1
  }

  count(): number {
    return this.#mod._fl_size(this.#live())
  }

  search(query: Float32Array, k: number): SearchHits {
    const ptr = this.#live()
    checkRows('query', query, this.options.dimensions, 1)
    checkK(k)
    const m = this.#mod
    // Layout in scratch: k f64 keys, then the query, then k f32 distances.
    const keysAt = scratchOf(m, k * 8 + query.byteLength + k * 4)
    const queryAt = keysAt + k * 8
    const distAt = queryAt + query.byteLength
    m.HEAPF32.set(query, queryAt >>> 2)
    const found = m._fl_search_one(ptr, queryAt, k, keysAt, distAt)
    if (found < 0) this.#fail('search')
    const keys = new Array<number>(found)
    const distances = new Array<number>(found)
    const f64 = m.HEAPF64
    const f32 = m.HEAPF32
    for (let i = 0; i < found; i++) {
      keys[i] = f64[(keysAt >>> 3) + i]
      distances[i] = f32[(distAt >>> 2) + i]
    }
    return { keys, distances }
  }

  searchMany(queries: Float32Array, k: number): SearchHits[] {
    const ptr = this.#live()
    checkK(k)
    const n = checkRows('queries', queries, this.options.dimensions)
    if (n === 0) return []
    const m = this.#mod
    let queriesPtr = 0
    let keysPtr = 0
    let distPtr = 0
    let foundPtr = 0
    try {
      queriesPtr = alloc(m, queries.byteLength)
      keysPtr = alloc(m, n * k * 8)
      distPtr = alloc(m, n * k * 4)
      foundPtr = alloc(m, n * 4)
      m.HEAPF32.set(queries, queriesPtr >>> 2)
      if (m._fl_search_many(ptr, queriesPtr, n, k, keysPtr, distPtr, foundPtr) !== 0) this.#fail('search')
      const heap = m.HEAPU8.buffer
      const keys = new BigUint64Array(heap, keysPtr, n * k)
      const dists = new Float32Array(heap, distPtr, n * k)
      const found = new Uint32Array(heap, foundPtr, n)
      const out: SearchHits[] = new Array(n)
      for (let q = 0; q < n; q++) {
        const hits: SearchHits = { keys: new Array(found[q]), distances: new Array(found[q]) }
        for (let i = 0; i < found[q]; i++) {
          hits.keys[i] = Number(keys[q * k + i])
          hits.distances[i] = dists[q * k + i]
        }
        out[q] = hits
      }
      return out
    } finally {
      m._free(queriesPtr)
      m._free(keysPtr)
      m._free(distPtr)
      m._free(foundPtr)
    }
  }

  serialize(): Uint8Array {
    const ptr = this.#live()
    const m = this.#mod
    const length = m._fl_serialized_length(ptr)
    const buf = alloc(m, length)
    try {
      if (m._fl_save(ptr, buf, length) !== 0) this.#fail('serialize')
      return m.HEAPU8.slice(buf, buf + length)
    } finally {
      m._free(buf)
    }
  }

  load(bytes: Uint8Array): void {
    this.#replace(bytes, false)
  }

  view(bytes: Uint8Array): void {
    this.#replace(bytes, true)
  }

  // Loads into a fresh index first so a bad buffer leaves this one untouched.
  #replace(bytes: Uint8Array, view: boolean): void {
    this.#live()
    const m = this.#mod
    const fresh = this.#create()
    let buf: number
    try {
      buf = alloc(m, Math.max(1, bytes.length))
    } catch (err) {
      m._fl_free(fresh)
      throw err
    }
    m.HEAPU8.set(bytes, buf)
    const rc = view ? m._fl_view(fresh, buf, bytes.length) : m._fl_load(fresh, buf, bytes.length)
    if (rc !== 0 || !this.#sameShape(fresh)) {
      const message = rc !== 0 ? this.#lastError() : 'serialized index has other dimensions'
      m._fl_free(fresh)
      m._free(buf)
      throw new VectorIndexError(
        'ERR_VECTOR_DIMENSIONS',
        `bytes: cannot ${view ? 'view' : 'load'}: ${message}`,
      )
    }
    m._fl_change_expansion_search(fresh, m._fl_expansion_search(this.#ptr))
    if (!view) m._free(buf)
    this.#release()
    this.#ptr = fresh
    this.#viewPtr = view ? buf : 0
    this.#readOnly = view
  }

  #sameShape(ptr: number): boolean {
    return this.#mod._fl_dimensions(ptr) === this.options.dimensions
  }

  free(): void {
    if (this.#ptr === 0) return
    this.#release()
    this.#ptr = 0
  }

  #release(): void {
    this.#mod._fl_free(this.#ptr)
    if (this.#viewPtr !== 0) this.#mod._free(this.#viewPtr)
    this.#viewPtr = 0
  }

  #live(): number {
    if (this.#ptr === 0) throw new VectorIndexError('ERR_VECTOR_FREED', 'index: used after free()')
    return this.#ptr
  }

  #writable(): number {
    const ptr = this.#live()
    if (this.#readOnly)
      throw new VectorIndexError('ERR_VECTOR_READ_ONLY', 'index: a viewed index is read-only')
    return ptr
  }

  #lastError(): string {
    const m = this.#mod
    const at = m._fl_last_error()
    let end = at
    while (m.HEAPU8[end] !== 0) end++
    return new TextDecoder().decode(m.HEAPU8.slice(at, end))
  }

  #fail(op: string): never {
    throw new VectorIndexError('ERR_VECTOR_ENGINE', `wasm ${op}: ${this.#lastError()}`)
  }
}
