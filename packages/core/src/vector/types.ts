/** Distance functions both builds support: cosine, inner product, squared Euclidean. */
export type Metric = 'cos' | 'ip' | 'l2sq'

/** How vectors are stored inside the index; queries and inserts are always f32. */
export type Quantization = 'f32' | 'f16' | 'i8'

export type Engine = 'native' | 'wasm'

export interface IndexOptions {
  dimensions: number
  metric?: Metric
  quantization?: Quantization
  /** HNSW graph degree (usearch `connectivity`, hnswlib `M`). */
  connectivity?: number
  /** Candidate list size while inserting (`ef_construction`). */
  expansionAdd?: number
  /** Candidate list size while searching (`ef`). */
  expansionSearch?: number
}

export type ResolvedIndexOptions = Required<IndexOptions>

export const INDEX_DEFAULTS = {
  metric: 'cos',
  quantization: 'f32',
  connectivity: 16,
  expansionAdd: 128,
  expansionSearch: 64,
} as const satisfies Omit<ResolvedIndexOptions, 'dimensions'>

/** Hits of one query, nearest first. */
export interface SearchHits {
  keys: number[]
  distances: number[]
}

/**
 * One usearch HNSW index. Keys are non-negative safe integers. Both builds implement this
 * interface with the same semantics and read each other's serialized bytes.
 */
export interface VectorIndex {
  readonly engine: Engine
  readonly options: ResolvedIndexOptions
  add(key: number, vector: Float32Array): void
  /** `vectors` holds `keys.length` rows of `dimensions` values, back to back. */
  addMany(keys: readonly number[], vectors: Float32Array): void
  /** Returns whether the key was present. */
  remove(key: number): boolean
  contains(key: number): boolean
  count(): number
  search(query: Float32Array, k: number): SearchHits
  /** `queries` holds rows of `dimensions` values, back to back. */
  searchMany(queries: Float32Array, k: number): SearchHits[]
  /** The current search expansion (`ef`). */
  readonly expansion: number
  setExpansion(expansion: number): void
  /** The whole index in usearch's own format. */
  serialize(): Uint8Array
  /** Replaces the contents with a serialized index (dimensions and metric must match). */
  load(bytes: Uint8Array): void
  /**
   * Serves searches from `bytes` without copying them where the build allows it (WASM copies
   * once into its heap; native loads); the index is read-only afterwards.
   */
  view(bytes: Uint8Array): void
  readonly readOnly: boolean
  free(): void
}
