import { checkAppend, type Entry, type HardState, type SaveBatch } from '@flotilla/core'
import { asStorageError } from './errors.js'
import type { WriteTx } from './write-tx.js'

export interface PendingSave {
  batch: SaveBatch
  resolve(): void
  reject(err: unknown): void
}

/** What a group's transaction holds, to apply to the cached state once it has committed. */
export interface Group {
  saves: PendingSave[]
  lastIndex: number
  hardState: HardState | undefined
  written: Entry[]
  /** Cached terms from here on are stale (a conflicting suffix was dropped). */
  cutFrom: number
}

/**
 * Takes every queued save into `tx`, in call order; an invalid save is rejected alone. A value
 * IndexedDB refuses (a detached buffer, a key that is not a number) throws after requests of its
 * save were issued: then `tx` is aborted, that save rejected with ERR_INVALID, the saves before
 * it go back to the front of the queue for the next transaction, and the result is null.
 */
export function buildGroup(
  tx: WriteTx,
  queue: PendingSave[],
  firstIndex: number,
  lastIndex: number,
  what: string,
): Group | null {
  const group: Group = {
    saves: [],
    lastIndex,
    hardState: undefined,
    written: [],
    cutFrom: Number.POSITIVE_INFINITY,
  }
  const { written } = group
  while (queue.length > 0) {
    const save = queue.shift()!
    try {
      const list = save.batch.entries ?? []
      const invalid = checkAppend(list, firstIndex, group.lastIndex)
      if (invalid) {
        save.reject(invalid)
        continue
      }
      const first = list[0]?.index
      if (first !== undefined && first <= group.lastIndex) {
        // A conflicting suffix: drop it (from the store and from what this group wrote).
        tx.store('entries').delete(IDBKeyRange.lowerBound(first))
        group.cutFrom = Math.min(group.cutFrom, first)
        while (written.length > 0 && written[written.length - 1].index >= first) written.pop()
      }
      for (const e of list) {
        tx.store('entries').put({ index: e.index, term: e.term, type: e.type, data: e.data })
        written.push(e)
      }
      if (list.length > 0) group.lastIndex = list[list.length - 1].index
      if (save.batch.hardState) {
        tx.store('meta').put({ ...save.batch.hardState }, 'hardState')
        group.hardState = save.batch.hardState
      }
    } catch (err) {
      tx.abort()
      save.reject(asStorageError(err, what))
      queue.unshift(...group.saves)
      return null
    }
    group.saves.push(save)
  }
  return group
}
