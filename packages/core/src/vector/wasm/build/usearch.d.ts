// Types for the Emscripten loader that `npm run build:wasm` writes next to this file.
export interface UsearchModuleInit {
  wasmBinary?: Uint8Array
  instantiateWasm?(imports: object, receive: (instance: unknown, module?: unknown) => void): object
  locateFile?(path: string, prefix: string): string
}
export interface UsearchModule {
  HEAPU8: Uint8Array
  HEAPF32: Float32Array
  HEAPU32: Uint32Array
  HEAPU64: BigUint64Array
  HEAPF64: Float64Array
  _malloc(size: number): number
  _free(ptr: number): void
  _fl_last_error(): number
  _fl_new(dims: number, metric: number, scalar: number, connectivity: number, ea: number, es: number): number
  _fl_free(index: number): void
  _fl_dimensions(index: number): number
  _fl_connectivity(index: number): number
  _fl_size(index: number): number
  _fl_capacity(index: number): number
  _fl_expansion_search(index: number): number
  _fl_expansion_add(index: number): number
  _fl_change_expansion_search(index: number, n: number): void
  _fl_change_expansion_add(index: number, n: number): void
  _fl_reserve(index: number, members: number): number
  _fl_add_many(index: number, keys: number, vectors: number, count: number): number
  _fl_add_one(index: number, key: number, vector: number): number
  _fl_search_one(index: number, query: number, k: number, keys: number, distances: number): number
  _fl_remove(index: number, key: bigint): number
  _fl_contains(index: number, key: bigint): number
  _fl_search_many(index: number, queries: number, count: number, k: number, keys: number, distances: number, found: number): number
  _fl_serialized_length(index: number): number
  _fl_save(index: number, buffer: number, length: number): number
  _fl_load(index: number, buffer: number, length: number): number
  _fl_view(index: number, buffer: number, length: number): number
}
declare const createUsearchModule: (init?: UsearchModuleInit) => Promise<UsearchModule>
export default createUsearchModule
