export { IdbStorage, type IdbStorageOptions, openIdbStorage } from './idb-storage.js'

import { type IdbStorage, type IdbStorageOptions, openIdbStorage } from './idb-storage.js'

/** Factory in the style of the other packages: `await idbStorage({ peerId })`. */
export function idbStorage(options: IdbStorageOptions): Promise<IdbStorage> {
  return openIdbStorage(options)
}
