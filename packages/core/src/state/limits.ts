export interface Limits {
  /** Longest id, in UTF-8 bytes. */
  maxIdBytes: number
  /** Largest metadata map, CBOR-encoded. */
  maxMetadataBytes: number
  /** Most items in one upsert or delete. */
  maxBatch: number
  maxDimensions: number
}

export const DEFAULT_LIMITS: Limits = {
  maxIdBytes: 256,
  maxMetadataBytes: 16 * 1024,
  maxBatch: 10_000,
  maxDimensions: 4096,
}
