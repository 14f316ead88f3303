export interface Limits {
  /** Longest id, in UTF-8 bytes. */
  maxIdBytes: number
  /** Largest metadata map, CBOR-encoded. */
  maxMetadataBytes: number
  /** Deepest metadata nesting (a flat map is 1): decoding and encoding recurse, stacks differ. */
  maxMetadataDepth: number
  /** Most items in one upsert or delete. */
  maxBatch: number
  maxDimensions: number
  /** Longest session client id, in UTF-8 bytes. */
  maxClientIdBytes: number
  /** A session unused for this many log entries expires (the same entry on every replica). */
  sessionTtlEntries: number
  /** Most live sessions; past it the least recently used expires. */
  maxSessions: number
}

export const DEFAULT_LIMITS: Limits = {
  maxIdBytes: 256,
  maxMetadataBytes: 16 * 1024,
  maxMetadataDepth: 16,
  maxBatch: 10_000,
  maxDimensions: 4096,
  maxClientIdBytes: 128,
  sessionTtlEntries: 1_000_000,
  maxSessions: 100_000,
}

/** Largest `k` and `ef` a search may ask for: both size buffers in the index's heap. */
export const MAX_SEARCH_K = 10_000
export const MAX_SEARCH_EF = 10_000

/**
 * Command containers around metadata: the command map, `items`, one item; metadata nests
 * inside. An entry nesting deeper than this is rejected before it is decoded.
 */
export const COMMAND_FRAME_DEPTH = 3
