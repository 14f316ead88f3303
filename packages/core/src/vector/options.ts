import { VectorIndexError } from './errors.js'
import { INDEX_DEFAULTS, type IndexOptions, type ResolvedIndexOptions } from './types.js'

const METRICS = ['cos', 'ip', 'l2sq']
const QUANTIZATIONS = ['f32', 'f16', 'i8']
export const MAX_DIMENSIONS = 4096

const positiveInt = (name: string, value: number, max: number): void => {
  if (!Number.isInteger(value) || value < 1 || value > max)
    throw new VectorIndexError('ERR_VECTOR_OPTIONS', `${name} must be an integer in 1..${max}, got ${value}`)
}

export function resolveIndexOptions(options: IndexOptions): ResolvedIndexOptions {
  const resolved = { ...INDEX_DEFAULTS, ...stripUndefined(options) } as ResolvedIndexOptions
  positiveInt('dimensions', resolved.dimensions, MAX_DIMENSIONS)
  positiveInt('connectivity', resolved.connectivity, 256)
  positiveInt('expansionAdd', resolved.expansionAdd, 1 << 16)
  positiveInt('expansionSearch', resolved.expansionSearch, 1 << 16)
  if (!METRICS.includes(resolved.metric))
    throw new VectorIndexError('ERR_VECTOR_OPTIONS', `metric must be one of ${METRICS.join(', ')}`)
  if (!QUANTIZATIONS.includes(resolved.quantization))
    throw new VectorIndexError(
      'ERR_VECTOR_OPTIONS',
      `quantization must be one of ${QUANTIZATIONS.join(', ')}`,
    )
  return resolved
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>
}

export function checkKey(key: number): void {
  if (!Number.isSafeInteger(key) || key < 0)
    throw new VectorIndexError('ERR_VECTOR_KEY', `key must be a non-negative safe integer, got ${key}`)
}

export function checkRows(name: string, values: Float32Array, dimensions: number, rows?: number): number {
  if (values.length % dimensions !== 0 || (rows !== undefined && values.length !== rows * dimensions))
    throw new VectorIndexError(
      'ERR_VECTOR_DIMENSIONS',
      `${name} has ${values.length} values; expected ${rows ?? 'a multiple of'} x ${dimensions} dimensions`,
    )
  return values.length / dimensions
}

export function checkK(k: number): void {
  if (!Number.isInteger(k) || k < 1)
    throw new VectorIndexError('ERR_VECTOR_OPTIONS', `k must be a positive integer, got ${k}`)
}

/** Search expansion: sizes per-search buffers, so it has the same bound as at construction. */
export function checkExpansion(expansion: number): void {
  positiveInt('expansion', expansion, 1 << 16)
}
