export { checkAppend } from './check-append.js'
export { MemoryStorage } from './memory-storage.js'
export {
  checkSnapshotRange,
  checkSnapshotWrite,
  type SaveBatch,
  type SnapshotWriteOptions,
  type SnapshotWriter,
  type Storage,
  StorageError,
  type StorageErrorCode,
  type StoredSnapshot,
  type StoredState,
  writeSnapshotFrom,
} from './storage.js'
