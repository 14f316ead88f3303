export type VectorErrorCode =
  | 'ERR_VECTOR_OPTIONS'
  | 'ERR_VECTOR_DIMENSIONS'
  | 'ERR_VECTOR_KEY'
  | 'ERR_VECTOR_ENGINE'
  | 'ERR_VECTOR_READ_ONLY'
  | 'ERR_VECTOR_FREED'
  | 'ERR_VECTOR_NATIVE'
  | 'ERR_VECTOR_OUT_OF_MEMORY'

/** Any failure of the index layer; `code` is stable, the message names the field involved. */
export class VectorIndexError extends Error {
  readonly code: VectorErrorCode
  constructor(code: VectorErrorCode, message: string) {
    super(message)
    this.name = 'VectorIndexError'
    this.code = code
  }
}
