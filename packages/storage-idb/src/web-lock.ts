import { StorageError } from '@flotilla/core'

/**
 * Holds the Web Lock `name` until the returned function is called. Without `wait`, a lock held
 * elsewhere (another tab, worker or opener) fails at once with ERR_LOCKED; with `wait`, the call
 * waits its turn, and `signal` gives up waiting.
 */
export async function acquireWebLock(name: string, wait: boolean, signal?: AbortSignal): Promise<() => void> {
  const locks = globalThis.navigator?.locks
  if (!locks) throw new StorageError('ERR_UNAVAILABLE', 'this runtime has no Web Locks (navigator.locks)')
  return new Promise((resolve, reject) => {
    const options: LockOptions = wait
      ? { mode: 'exclusive', signal }
      : { mode: 'exclusive', ifAvailable: true }
    locks
      .request(name, options, (lock) => {
        if (!lock) {
          reject(new StorageError('ERR_LOCKED', `peer storage ${name} is open in another tab or worker`))
          return
        }
        // The lock is held until this promise settles.
        return new Promise<void>((release) => resolve(release))
      })
      .catch((err: unknown) => {
        const aborted = (err as DOMException)?.name === 'AbortError'
        reject(
          new StorageError(
            aborted ? 'ERR_LOCKED' : 'ERR_UNAVAILABLE',
            aborted
              ? `gave up waiting for the lock ${name}`
              : `could not take the lock ${name}: ${String(err)}`,
          ),
        )
      })
  })
}
