export { checkAppend } from './check-append.js'
export { MemoryStorage } from './memory-storage.js'
export {
  type SaveBatch,
  type SnapshotWriteOptions,
  type Storage,
  StorageError,
  type StorageErrorCode,
  type StoredSnapshot,
  type StoredState,
} from './storage.js'
