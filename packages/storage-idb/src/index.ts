export { IdbStorage } from './idb-storage.js'
export { type IdbStorageOptions, openIdbStorage } from './open.js'
export { DB_VERSION, dbName, upgradeSchema } from './schema.js'

import type { IdbStorage } from './idb-storage.js'
import { type IdbStorageOptions, openIdbStorage } from './open.js'

/** Factory in the style of the other packages: `await idbStorage({ peerId })`. */
export function idbStorage(options: IdbStorageOptions): Promise<IdbStorage> {
  return openIdbStorage(options)
}
