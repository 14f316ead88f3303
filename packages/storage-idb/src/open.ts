import type { HardState, StorageError } from '@flotilla/core'
import { openDB } from 'idb'
import { asStorageError, connectionLostError, versionChangeError } from './errors.js'
import { type Cached, IdbStorage } from './idb-storage.js'
import {
  DB_VERSION,
  dbName,
  type FlotillaDB,
  lockName,
  type SnapshotRecord,
  upgradeSchema,
} from './schema.js'
import { acquireWebLock } from './web-lock.js'

export interface IdbStorageOptions {
  /** The peer this storage belongs to: one database and one Web Lock per peer id. */
  peerId: string
  /** Wait for another tab to close the same peer instead of failing with ERR_LOCKED. */
  wait?: boolean
  /**
   * Take the peer over from the tab or worker that holds it (Web Locks `steal`): the holder's
   * storage fails with ERR_LOCKED at once, and none of its later writes reach the database.
   */
  steal?: boolean
  /** Gives up waiting (with `wait`). */
  signal?: AbortSignal
}

const EMPTY_HARD_STATE: HardState = { term: 0, vote: '', commit: 0 }

/** Opens the IndexedDB storage of `options.peerId`, taking its Web Lock first. */
export async function openIdbStorage(options: IdbStorageOptions): Promise<IdbStorage> {
  const { peerId } = options
  const lock = await acquireWebLock(lockName(peerId), {
    wait: options.wait ?? false,
    steal: options.steal ?? false,
    signal: options.signal,
  })
  // A failure before the store exists fails the open, at once: after a forced close or during
  // a versionchange, the reads of `recover` may never be answered.
  let failOpen: (err: StorageError) => void = () => {}
  const failedEarly = new Promise<never>((_, reject) => {
    failOpen = reject
  })
  failedEarly.catch(() => {})
  let failStore: ((err: StorageError) => void) | undefined
  const report = (err: StorageError) => (failStore ? failStore(err) : failOpen(err))
  void lock.lost.then(report)
  let db: Awaited<ReturnType<typeof openDB<FlotillaDB>>> | undefined
  try {
    db = await openDB<FlotillaDB>(dbName(peerId), DB_VERSION, {
      upgrade: upgradeSchema,
      blocking: () => report(versionChangeError(peerId)),
      terminated: () => report(connectionLostError(peerId)),
    })
    const writer = crypto.randomUUID()
    const state = await Promise.race([recover(db, writer), failedEarly])
    return new IdbStorage(peerId, db, lock, state, writer, (fail) => {
      failStore = fail
    })
  } catch (err) {
    db?.close()
    lock.release()
    throw asStorageError(err, `opening the IndexedDB storage of peer ${peerId}`)
  }
}

/**
 * Reads what the store holds, removes chunks of snapshot writes that never finished, and
 * writes this opener's token, so that writes of any earlier holder still in flight are fenced off.
 */
async function recover(db: Awaited<ReturnType<typeof openDB<FlotillaDB>>>, writer: string): Promise<Cached> {
  const tx = db.transaction(['entries', 'meta', 'snapshotChunks'], 'readwrite', { durability: 'strict' })
  tx.done.catch(() => {}) // awaited below; an abort must not also surface as unhandled
  const meta = tx.objectStore('meta')
  const hardState = ((await meta.get('hardState')) as HardState | undefined) ?? EMPTY_HARD_STATE
  const firstIndex = ((await meta.get('firstIndex')) as number | undefined) ?? 1
  const snapshot = ((await meta.get('snapshot')) as SnapshotRecord | undefined) ?? null
  const lastCursor = await tx.objectStore('entries').openCursor(null, 'prev')
  const lastIndex = Math.max(lastCursor?.key ?? 0, firstIndex - 1)
  const chunks = tx.objectStore('snapshotChunks')
  const keep = snapshot?.id ?? 0
  await chunks.delete(IDBKeyRange.upperBound([keep, -1]))
  await chunks.delete(IDBKeyRange.lowerBound([keep, Number.MAX_SAFE_INTEGER]))
  await meta.put(writer, 'writer')
  await tx.done
  return { hardState, firstIndex, lastIndex, snapshot }
}
