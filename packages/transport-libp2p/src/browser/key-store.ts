import type { KeyStore } from '../identity.js'

const STORE = 'keys'

function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result)
    r.onerror = () => reject(r.error)
  })
}

async function open(dbName: string): Promise<IDBDatabase> {
  const r = indexedDB.open(dbName, 1)
  r.onupgradeneeded = () => r.result.createObjectStore(STORE)
  return request(r)
}

/** Keeps the private key in IndexedDB database `dbName` under `name`. */
export function indexedDbKeyStore(dbName = 'flotilla-identity', name = 'peer'): KeyStore {
  return {
    async load() {
      const db = await open(dbName)
      try {
        const v = await request(db.transaction(STORE).objectStore(STORE).get(name))
        return v instanceof Uint8Array ? v : undefined
      } finally {
        db.close()
      }
    },
    async save(key) {
      const db = await open(dbName)
      try {
        const tx = db.transaction(STORE, 'readwrite', { durability: 'strict' })
        tx.objectStore(STORE).put(key, name)
        await new Promise<void>((resolve, reject) => {
          tx.oncomplete = () => resolve()
          tx.onerror = () => reject(tx.error)
        })
      } finally {
        db.close()
      }
    },
  }
}
