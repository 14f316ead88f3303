import type { HardState, SnapshotMeta } from '@flotilla/core'
import type { DBSchema } from 'idb'

export interface StoredEntry {
  index: number
  term: number
  type: number
  data: Uint8Array
}

/** The current snapshot: its chunks are stored under `id` in `snapshotChunks`. */
export interface SnapshotRecord {
  id: number
  meta: SnapshotMeta
  size: number
  chunkCount: number
}

/** One database per peer id (DESIGN §6). */
export interface FlotillaDB extends DBSchema {
  /** Log entries keyed by index. */
  entries: { key: number; value: StoredEntry }
  /** 'hardState', 'firstIndex' and 'snapshot'. */
  meta: { key: string; value: HardState | number | SnapshotRecord }
  /** Snapshot data, keyed by [snapshot id, chunk number]. */
  snapshotChunks: { key: [number, number]; value: Uint8Array }
}

export const DB_VERSION = 1

export const dbName = (peerId: string) => `flotilla-peer-${peerId}`
export const lockName = (peerId: string) => `flotilla-peer-${peerId}`
