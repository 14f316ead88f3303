import type { Entry } from '../raft/messages.js'
import { StorageError } from './storage.js'

/**
 * The one rule for an append, shared by every store: it starts at or after the first index, it
 * leaves no gap after `lastIndex` (starting at or below it replaces that suffix), and its
 * indices are consecutive. Returns the error to reject the save with, or null.
 */
export function checkAppend(entries: Entry[], firstIndex: number, lastIndex: number): StorageError | null {
  if (entries.length === 0) return null
  const first = entries[0].index
  if (first < firstIndex)
    return new StorageError('ERR_COMPACTED', `append at ${first} below first index ${firstIndex}`)
  if (first > lastIndex + 1)
    return new StorageError('ERR_INVALID', `append at ${first} leaves a gap after ${lastIndex}`)
  for (let i = 1; i < entries.length; i++) {
    if (entries[i].index !== first + i) {
      return new StorageError(
        'ERR_INVALID',
        `entries[${i}].index is ${entries[i].index}, expected ${first + i}`,
      )
    }
  }
  return null
}
