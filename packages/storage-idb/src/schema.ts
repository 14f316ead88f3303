import type { HardState, SnapshotMeta } from '@flotilla/core'
import type { DBSchema, IDBPDatabase } from 'idb'

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
  /**
   * 'hardState', 'firstIndex', 'snapshot', and 'writer': the token of the connection that owns
   * the database, written on open and checked by every write (a fence against a stale holder).
   */
  meta: { key: string; value: HardState | number | SnapshotRecord | string }
  /** Snapshot data, keyed by [snapshot id, chunk number]. */
  snapshotChunks: { key: [number, number]; value: Uint8Array }
}

export const DB_VERSION = 1

/**
 * Brings a database from `oldVersion` up to DB_VERSION, one step per version, so that a later
 * version adds its step here instead of re-creating what exists.
 */
export function upgradeSchema(db: IDBPDatabase<FlotillaDB>, oldVersion: number): void {
  if (oldVersion < 1) {
    db.createObjectStore('entries', { keyPath: 'index' })
    db.createObjectStore('meta')
    db.createObjectStore('snapshotChunks')
  }
}

export const dbName = (peerId: string) => `flotilla-peer-${peerId}`
export const lockName = (peerId: string) => `flotilla-peer-${peerId}`
