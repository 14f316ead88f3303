import { StorageError } from '@flotilla/core'

export const closedError = (peerId: string) =>
  new StorageError('ERR_CLOSED', `the storage of peer ${peerId} is closed`)

/** The browser closed the connection: site data cleared, a disk error, the backend gone. */
export const connectionLostError = (peerId: string) =>
  new StorageError(
    'ERR_UNAVAILABLE',
    `the browser closed the IndexedDB connection of peer ${peerId} (site data cleared or a disk error)`,
  )

export const versionChangeError = (peerId: string) =>
  new StorageError(
    'ERR_CLOSED',
    `another connection is upgrading or deleting the database of peer ${peerId}; this one closed to let it`,
  )

export const frozenError = (peerId: string) =>
  new StorageError(
    'ERR_UNAVAILABLE',
    `the tab of peer ${peerId} was frozen: its storage closed and let go of the lock; open it again after resume`,
  )

/** A write found another opener's token in the database: the lock was taken over. */
export const fencedError = (peerId: string) =>
  new StorageError('ERR_LOCKED', `the database of peer ${peerId} was taken over by another tab or worker`)

const INVALID_NAMES = new Set(['DataError', 'DataCloneError', 'TypeError', 'RangeError'])

/** Maps IndexedDB failures to stable codes: a full quota is ERR_QUOTA, a value it cannot store ERR_INVALID. */
export function asStorageError(err: unknown, what: string): StorageError {
  if (err instanceof StorageError) return err
  const name = (err as DOMException)?.name
  const message = `${what}: ${(err as Error)?.message || name || String(err)}`
  if (name === 'QuotaExceededError') return new StorageError('ERR_QUOTA', message)
  if (INVALID_NAMES.has(name)) return new StorageError('ERR_INVALID', message)
  return new StorageError('ERR_UNAVAILABLE', message)
}
