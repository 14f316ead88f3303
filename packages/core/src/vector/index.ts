export {
  type CreateIndexOptions,
  createIndex,
  type EngineChoice,
  type IndexFactory,
  indexFactory,
  isNode,
  resolveEngine,
} from './create-index.js'
export { type VectorErrorCode, VectorIndexError } from './errors.js'
export { MAX_DIMENSIONS, resolveIndexOptions } from './options.js'
export {
  type Engine,
  INDEX_DEFAULTS,
  type IndexOptions,
  type Metric,
  type Quantization,
  type ResolvedIndexOptions,
  type SearchHits,
  type VectorIndex,
} from './types.js'
export { loadUsearchWasm, type WasmSource } from './wasm/load-wasm.js'
