import type { Entry } from '@flotilla/core'
import { openDB } from 'idb'
import { describe, expect, it } from 'vitest'
import { DB_VERSION, dbName, openIdbStorage, upgradeSchema } from '../src/index.js'

// Faults one page can cause. Vitest's browser mode fails the run on any unhandled rejection.
const peer = (name: string) => `${name}-${Math.random().toString(36).slice(2)}`
const entry = (index: number, term = 1, data = new Uint8Array([index & 0xff])): Entry => ({
  index,
  term,
  type: 0,
  data,
})
const detached = () => {
  const data = new Uint8Array(8)
  structuredClone(data.buffer, { transfer: [data.buffer] })
  return data
}
const settle = (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (err: { code?: string }) => err.code ?? String(err),
  )

/** The raw rows of a peer's database, read past the store. */
async function rawEntries(peerId: string): Promise<number[]> {
  const db = await openDB(dbName(peerId))
  const keys = (await db.getAllKeys('entries')) as number[]
  db.close()
  return keys
}

describe('IdbStorage: a value IndexedDB refuses in a group commit', () => {
  const cases: [string, () => Entry[]][] = [
    ['a detached buffer', () => [entry(3), entry(4, 1, detached())]],
    // One entry, so that checkAppend sees no gap to object to.
    ['an index that is not a valid key', () => [entry(Number.NaN)]],
  ]
  for (const [what, bad] of cases)
    it(`rejects only the save holding ${what}; the rest of the group commits`, async () => {
      const id = peer('group')
      const s = await openIdbStorage({ peerId: id })
      const first = s.save({ entries: [entry(1)] }) // commits alone; the next three are grouped
      const before = s.save({ entries: [entry(2)], hardState: { term: 1, vote: 'a', commit: 1 } })
      const badSave = s.save({ entries: bad(), hardState: { term: 9, vote: 'x', commit: 3 } })
      const after = s.save({ hardState: { term: 2, vote: 'b', commit: 2 } })
      expect(await Promise.all([first, before, badSave, after].map(settle))).toEqual([
        'ok',
        'ok',
        'ERR_INVALID',
        'ok',
      ])
      expect(await s.load()).toMatchObject({ lastIndex: 2, hardState: { term: 2, vote: 'b', commit: 2 } })
      // The store keeps working, from index 3.
      await s.save({ entries: [entry(3, 2)] })
      expect((await s.entries(1, 4)).map((e) => e.term)).toEqual([1, 1, 2])
      await s.close()
      expect(await rawEntries(id)).toEqual([1, 2, 3])
      const again = await openIdbStorage({ peerId: id })
      expect(await again.load()).toMatchObject({ lastIndex: 3, hardState: { term: 2, commit: 2 } })
      await again.close()
    })
})

describe('IdbStorage: another writer', () => {
  it('a write that finds another opener’s token fails the store with ERR_LOCKED and writes nothing', async () => {
    const id = peer('fence')
    const s = await openIdbStorage({ peerId: id })
    await s.save({ entries: [entry(1)] })
    // What a tab that stole the lock writes when it opens, before this one hears of the steal.
    const raw = await openDB(dbName(id))
    await raw.put('meta', 'another-opener', 'writer')
    raw.close()
    const queued = [s.save({ entries: [entry(2)] }), s.save({ entries: [entry(3)] })]
    expect(await Promise.all(queued.map(settle))).toEqual(['ERR_LOCKED', 'ERR_LOCKED'])
    expect(await s.failed).toMatchObject({ code: 'ERR_LOCKED' })
    expect((await s.failed).message).toContain(id)
    await expect(s.entries(1, 2)).rejects.toMatchObject({ code: 'ERR_LOCKED' })
    expect(await rawEntries(id)).toEqual([1])
    // It let go of its lock.
    const next = await openIdbStorage({ peerId: id })
    await next.close()
    await s.close()
  })
})

describe('IdbStorage: versionchange and upgrades', () => {
  it('closes with ERR_CLOSED when another connection deletes the database, instead of blocking it', async () => {
    const id = peer('delete')
    const s = await openIdbStorage({ peerId: id })
    await s.save({ entries: [entry(1)] })
    let blocked = false
    await new Promise<void>((resolve, reject) => {
      const req = indexedDB.deleteDatabase(dbName(id))
      req.onblocked = () => {
        blocked = true
      }
      req.onsuccess = () => resolve()
      req.onerror = () => reject(req.error)
    })
    expect(blocked).toBe(false)
    expect(await s.failed).toMatchObject({ code: 'ERR_CLOSED' })
    await expect(s.save({ entries: [entry(2)] })).rejects.toMatchObject({ code: 'ERR_CLOSED' })
    await expect(s.load()).rejects.toMatchObject({ code: 'ERR_CLOSED' })
    await s.close()
  })

  it('fails an open that a deletion interrupts with ERR_CLOSED, instead of hanging and blocking it', async () => {
    const id = peer('open-delete')
    await (await openIdbStorage({ peerId: id })).close()
    // The open's reads will never be answered, as after a forced close.
    const original = IDBObjectStore.prototype.openCursor
    let stuck: () => void = () => {}
    const reached = new Promise<void>((resolve) => {
      stuck = resolve
    })
    IDBObjectStore.prototype.openCursor = () => {
      stuck()
      return new Promise(() => {}) as unknown as IDBRequest<IDBCursorWithValue | null>
    }
    let opening: Promise<string>
    try {
      opening = settle(openIdbStorage({ peerId: id }))
      await reached
    } finally {
      IDBObjectStore.prototype.openCursor = original
    }
    const deleted = new Promise<void>((resolve, reject) => {
      const req = indexedDB.deleteDatabase(dbName(id))
      req.onsuccess = () => resolve()
      req.onerror = () => reject(req.error)
    })
    expect(await opening).toBe('ERR_CLOSED')
    await deleted
    // The lock went with it.
    await (await openIdbStorage({ peerId: id })).close()
  })

  it('upgrades a database written by the current schema, keeping its data', async () => {
    const id = peer('upgrade')
    const s = await openIdbStorage({ peerId: id })
    await s.save({ entries: [entry(1), entry(2)], hardState: { term: 1, vote: 'a', commit: 2 } })
    await s.close()
    // The next schema version starts from this one: its upgrade must not re-create the stores.
    const db = await openDB(dbName(id), DB_VERSION + 1, { upgrade: upgradeSchema })
    expect(db.version).toBe(DB_VERSION + 1)
    expect(await db.getAllKeys('entries')).toEqual([1, 2])
    expect(await db.get('meta', 'hardState')).toEqual({ term: 1, vote: 'a', commit: 2 })
    db.close()
  })
})

describe('IdbStorage: errors and close', () => {
  it('fails with ERR_UNAVAILABLE, and does not spin, when the connection refuses new transactions', async () => {
    const id = peer('refused')
    const s = await openIdbStorage({ peerId: id })
    await s.save({ entries: [entry(1)] })
    // What a connection the browser is closing does before its close event arrives.
    const original = IDBDatabase.prototype.transaction
    IDBDatabase.prototype.transaction = () => {
      throw new DOMException('The database connection is closing.', 'InvalidStateError')
    }
    let outcome: string[]
    try {
      outcome = await Promise.all(
        [s.save({ entries: [entry(2)] }), s.save({ entries: [entry(3)] })].map(settle),
      )
    } finally {
      IDBDatabase.prototype.transaction = original
    }
    expect(outcome).toEqual(['ERR_UNAVAILABLE', 'ERR_UNAVAILABLE'])
    expect(await s.failed).toMatchObject({ code: 'ERR_UNAVAILABLE' })
    // It let go of its lock.
    const next = await openIdbStorage({ peerId: id })
    expect(await next.load()).toMatchObject({ lastIndex: 1 })
    await next.close()
    await s.close()
  })

  it('answers a bad index with ERR_INVALID, never a raw DOMException', async () => {
    const s = await openIdbStorage({ peerId: peer('bad-index') })
    await s.save({ entries: [entry(1), entry(2)] })
    for (const call of [
      () => s.entries(Number.NaN, 2),
      () => s.term(Number.NaN),
      () => s.compact(Number.NaN),
    ]) {
      const err = await call().catch((e: unknown) => e)
      expect(err).toMatchObject({ name: 'StorageError', code: 'ERR_INVALID' })
    }
    await s.close()
  })

  it('close() waits for a snapshot chunk write in flight; the write ends with ERR_CLOSED', async () => {
    const id = peer('close-snapshot')
    const s = await openIdbStorage({ peerId: id })
    const events: string[] = []
    let closing: Promise<void> | undefined
    // Close the store the moment its first chunk transaction starts.
    const original = IDBDatabase.prototype.transaction
    IDBDatabase.prototype.transaction = function (
      this: IDBDatabase,
      ...args: Parameters<IDBDatabase['transaction']>
    ) {
      const tx = original.apply(this, args)
      if (!closing && Array.from(tx.objectStoreNames).join() === 'snapshotChunks') {
        tx.addEventListener('complete', () => events.push('chunk committed'))
        closing = s.close().then(() => {
          events.push('closed')
        })
      }
      return tx
    }
    let writing: Promise<string>
    try {
      const chunks = [new Uint8Array(3 << 20).fill(7)]
      writing = settle(s.writeSnapshot({ index: 0, term: 0, conf: emptyConf }, chunks))
      await new Promise((r) => setTimeout(r, 0))
    } finally {
      IDBDatabase.prototype.transaction = original
    }
    expect(closing).toBeDefined()
    await closing
    expect(events).toEqual(['chunk committed', 'closed'])
    expect(await writing).toBe('ERR_CLOSED')
    // The next open removes the chunks the unfinished write left.
    const again = await openIdbStorage({ peerId: id })
    expect(await again.readSnapshot()).toBeNull()
    await again.close()
    const db = await openDB(dbName(id))
    expect(await db.count('snapshotChunks')).toBe(0)
    db.close()
  })
})

const emptyConf = {
  voters: [],
  outgoing: [],
  learners: [],
  learnersNext: [],
  witnesses: [],
  autoLeave: false,
}
