import { StorageError } from '@flotilla/core'

export interface LockRequest {
  /** Wait for the holder to let go instead of failing with ERR_LOCKED. */
  wait: boolean
  /** Take the lock from its holder (Web Locks `steal`); the holder's storage fails. */
  steal: boolean
  /** Gives up waiting (with `wait`). */
  signal?: AbortSignal
}

/** A Web Lock held until `release()`, unless another context steals it first. */
export interface HeldLock {
  release(): void
  /** Resolves with ERR_LOCKED if another context takes the lock with `steal`. */
  lost: Promise<StorageError>
}

/**
 * Takes the Web Lock `name`. Without `wait`, a lock held elsewhere (another tab, worker or
 * opener) fails at once with ERR_LOCKED; with `wait`, the call waits its turn.
 */
export async function acquireWebLock(name: string, request: LockRequest): Promise<HeldLock> {
  const locks = globalThis.navigator?.locks
  if (!locks) throw new StorageError('ERR_UNAVAILABLE', 'this runtime has no Web Locks (navigator.locks)')
  const options: LockOptions = request.steal
    ? { mode: 'exclusive', steal: true }
    : request.wait
      ? { mode: 'exclusive', signal: request.signal }
      : { mode: 'exclusive', ifAvailable: true }
  let granted = false
  let markLost: (err: StorageError) => void = () => {}
  const lost = new Promise<StorageError>((resolve) => {
    markLost = resolve
  })
  return new Promise((resolve, reject) => {
    locks
      .request(name, options, (lock) => {
        if (!lock) {
          reject(new StorageError('ERR_LOCKED', `peer storage ${name} is open in another tab or worker`))
          return
        }
        granted = true
        // The lock is held until this promise settles.
        return new Promise<void>((release) => resolve({ release: () => release(), lost }))
      })
      .catch((err: unknown) => {
        // After the grant, the only way this promise rejects is a steal by another context.
        if (granted) {
          markLost(new StorageError('ERR_LOCKED', `the lock ${name} was taken over by another tab or worker`))
          return
        }
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
