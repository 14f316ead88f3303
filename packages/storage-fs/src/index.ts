export { type File, type FileLock, type FileSystem, nodeFileSystem, type OpenMode } from './file-system.js'
export { FsStorage, type FsStorageOptions, LOCK_FILE, openFsStorage } from './fs-storage.js'

import { type FsStorage, type FsStorageOptions, openFsStorage } from './fs-storage.js'

/** Factory in the style of the other packages: `await fsStorage({ dir })`. */
export function fsStorage(options: FsStorageOptions): Promise<FsStorage> {
  return openFsStorage(options)
}
