import type { FlotillaDB } from './schema.js'

type StoreName = keyof FlotillaDB & string

/**
 * A strict readwrite transaction on the raw IndexedDB API. Requests are issued without a promise
 * each (an aborted transaction would reject every one, unhandled), and `outcome` never rejects.
 * When it covers `meta`, its first request checks the database's writer token: if another
 * opener has written its own since, the transaction aborts before anything commits (`fenced`).
 */
export class WriteTx {
  readonly tx: IDBTransaction
  /** null once committed; the error (or an AbortError) if aborted. */
  readonly outcome: Promise<DOMException | Error | null>
  fenced = false

  constructor(db: IDBDatabase, stores: StoreName[], writer: string) {
    this.tx = db.transaction(stores, 'readwrite', { durability: 'strict' })
    const tx = this.tx
    this.outcome = new Promise((resolve) => {
      tx.oncomplete = () => resolve(null)
      tx.onabort = () => resolve(tx.error ?? new DOMException('the transaction was aborted', 'AbortError'))
    })
    if (!stores.includes('meta')) return
    const check = tx.objectStore('meta').get('writer')
    check.onsuccess = () => {
      if (check.result !== writer) {
        this.fenced = true
        this.abort()
      }
    }
  }

  store(name: StoreName): IDBObjectStore {
    return this.tx.objectStore(name)
  }

  /** Undoes every request; false if the transaction already finished or is committing. */
  abort(): boolean {
    try {
      this.tx.abort()
      return true
    } catch {
      return false
    }
  }
}
