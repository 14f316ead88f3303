import { describe, expect, it } from 'vitest'
import type { ConfState, Entry, HardState, SnapshotMeta } from '../src/raft/messages.js'
import type { Storage } from '../src/storage/storage.js'
import { snapshotStreamCases } from './storage-conformance-snapshot.js'

/**
 * How the conformance suite reaches one store implementation. `open(name)` opens the store
 * called `name`; opening the same name again after `close()` must see everything that was saved.
 */
export interface StorageHarness {
  open(name: string): Promise<Storage>
  /** Entries this large and this many must round-trip (IndexedDB and fs differ in cost). */
  largeEntryBytes?: number
  manyEntries?: number
}

const conf: ConfState = {
  voters: ['a', 'b', 'c'],
  outgoing: [],
  learners: ['l'],
  learnersNext: [],
  witnesses: ['c'],
  autoLeave: false,
}

export function entry(index: number, term: number, size = 8): Entry {
  const data = new Uint8Array(size)
  for (let i = 0; i < size; i++) data[i] = (index * 31 + term * 7 + i) & 0xff
  return { index, term, type: index % 5 === 0 ? 1 : 0, data }
}

export function entries(lo: number, hi: number, term: number, size = 8): Entry[] {
  const out: Entry[] = []
  for (let i = lo; i < hi; i++) out.push(entry(i, term, size))
  return out
}

export function snapshotMeta(index: number, term: number): SnapshotMeta {
  return { index, term, conf }
}

export function bytes(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n)
  for (let i = 0; i < n; i++) b[i] = (i * 13 + seed) & 0xff
  return b
}

export async function* asyncChunks(parts: Uint8Array[]): AsyncIterable<Uint8Array> {
  for (const p of parts) {
    await Promise.resolve()
    yield p
  }
}

export async function readAll(
  storage: Storage,
): Promise<{ meta: SnapshotMeta; size: number; data: Uint8Array } | null> {
  const snap = await storage.readSnapshot()
  if (!snap) return null
  const parts: Uint8Array[] = []
  for await (const c of snap.chunks()) parts.push(c)
  const data = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) {
    data.set(p, at)
    at += p.length
  }
  return { meta: snap.meta, size: snap.size, data }
}

/** Byte equality without the diff machinery, which is slow on megabyte arrays. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** Compares entries field by field, with `data` as plain arrays so a mismatch prints readably. */
export function plain(es: Entry[]): unknown[] {
  return es.map((e) => ({ index: e.index, term: e.term, type: e.type, data: Array.from(e.data) }))
}

let counter = 0
const uniqueName = (test: string) =>
  `conf-${test}-${Date.now().toString(36)}-${(counter++).toString(36)}-${Math.random().toString(36).slice(2, 8)}`

/**
 * The storage conformance suite (issue 4 §1): every Storage implementation runs these tests
 * unchanged. `label` names the implementation in the test report.
 */
export function storageConformance(label: string, harness: StorageHarness): void {
  const large = harness.largeEntryBytes ?? 1 << 20
  const many = harness.manyEntries ?? 3000

  /** Opens a fresh store, runs `body`, and closes whatever store is current at the end. */
  const withStore = async (test: string, body: (s: Ctx) => Promise<void>) => {
    const name = uniqueName(test)
    const ctx: Ctx = {
      storage: await harness.open(name),
      async reopen() {
        await ctx.storage.close()
        ctx.storage = await harness.open(name)
        return ctx.storage
      },
    }
    try {
      await body(ctx)
    } finally {
      await ctx.storage.close()
    }
  }

  describe(`Storage conformance: ${label}`, () => {
    snapshotStreamCases(withStore)

    it('starts empty', async () => {
      await withStore('empty', async ({ storage }) => {
        const st = await storage.load()
        expect(st).toEqual({
          hardState: { term: 0, vote: '', commit: 0 },
          snapshot: null,
          firstIndex: 1,
          lastIndex: 0,
        })
        expect(await storage.readSnapshot()).toBeNull()
        expect(await storage.entries(1, 1)).toEqual([])
        expect(await storage.term(1)).toBeUndefined()
      })
    })

    it('appends entries and reads ranges and terms back', async () => {
      await withStore('append', async ({ storage }) => {
        await storage.save({ entries: entries(1, 6, 1) })
        await storage.save({ entries: entries(6, 11, 2) })
        const st = await storage.load()
        expect(st.firstIndex).toBe(1)
        expect(st.lastIndex).toBe(10)
        expect(plain(await storage.entries(1, 11))).toEqual(
          plain([...entries(1, 6, 1), ...entries(6, 11, 2)]),
        )
        expect(plain(await storage.entries(4, 8))).toEqual(plain([...entries(4, 6, 1), ...entries(6, 8, 2)]))
        expect(await storage.entries(5, 5)).toEqual([])
        expect(await storage.term(5)).toBe(1)
        expect(await storage.term(6)).toBe(2)
        expect(await storage.term(11)).toBeUndefined()
      })
    })

    it('keeps empty and large entry payloads intact', async () => {
      await withStore('payloads', async ({ storage }) => {
        const empty: Entry = { index: 1, term: 1, type: 0, data: new Uint8Array(0) }
        const big: Entry = { index: 2, term: 1, type: 0, data: bytes(large, 7) }
        await storage.save({ entries: [empty, big] })
        const got = await storage.entries(1, 3)
        expect(got[0].data.length).toBe(0)
        expect(got[1].data.length).toBe(large)
        expect(sameBytes(got[1].data, big.data)).toBe(true)
      })
    })

    it('rejects a read past the last index with ERR_UNAVAILABLE', async () => {
      await withStore('past-last', async ({ storage }) => {
        await storage.save({ entries: entries(1, 4, 1) })
        await expect(storage.entries(2, 5)).rejects.toMatchObject({ code: 'ERR_UNAVAILABLE' })
      })
    })

    it('replaces a conflicting suffix', async () => {
      await withStore('overwrite', async ({ storage }) => {
        await storage.save({ entries: entries(1, 11, 1) })
        await storage.save({ entries: entries(4, 7, 2) })
        const st = await storage.load()
        expect(st.lastIndex).toBe(6)
        expect(plain(await storage.entries(1, 7))).toEqual(plain([...entries(1, 4, 1), ...entries(4, 7, 2)]))
        expect(await storage.term(7)).toBeUndefined()
        await expect(storage.entries(1, 8)).rejects.toMatchObject({ code: 'ERR_UNAVAILABLE' })
        // Appending after the overwrite continues from the new tail.
        await storage.save({ entries: entries(7, 9, 2) })
        expect((await storage.load()).lastIndex).toBe(8)
        expect(await storage.term(8)).toBe(2)
      })
    })

    it('replaces the whole log when the overwrite starts at the first index', async () => {
      await withStore('overwrite-all', async ({ storage }) => {
        await storage.save({ entries: entries(1, 6, 1) })
        await storage.save({ entries: entries(1, 3, 3) })
        expect(plain(await storage.entries(1, 3))).toEqual(plain(entries(1, 3, 3)))
        expect((await storage.load()).lastIndex).toBe(2)
      })
    })

    it('rejects an append that leaves a gap with ERR_INVALID and changes nothing', async () => {
      await withStore('gap', async ({ storage }) => {
        await storage.save({ entries: entries(1, 4, 1) })
        const hs: HardState = { term: 9, vote: 'x', commit: 1 }
        await expect(storage.save({ entries: entries(6, 8, 1), hardState: hs })).rejects.toMatchObject({
          code: 'ERR_INVALID',
        })
        const st = await storage.load()
        expect(st.lastIndex).toBe(3)
        expect(st.hardState).toEqual({ term: 0, vote: '', commit: 0 })
      })
    })

    it('rejects a batch whose indices are not consecutive with ERR_INVALID', async () => {
      await withStore('non-consecutive', async ({ storage }) => {
        await storage.save({ entries: entries(1, 3, 1) })
        const skip = [entry(3, 1), entry(5, 1)]
        await expect(storage.save({ entries: skip })).rejects.toMatchObject({ code: 'ERR_INVALID' })
        expect((await storage.load()).lastIndex).toBe(2)
        expect(await storage.entries(3, 2)).toEqual([])
      })
    })

    it('saves and loads the hard state, alone or with entries', async () => {
      await withStore('hardstate', async (ctx) => {
        await ctx.storage.save({ hardState: { term: 3, vote: 'b', commit: 0 } })
        expect((await ctx.storage.load()).hardState).toEqual({ term: 3, vote: 'b', commit: 0 })
        await ctx.storage.save({ entries: entries(1, 3, 3), hardState: { term: 3, vote: 'b', commit: 2 } })
        await ctx.storage.save({ entries: [] })
        let st = await ctx.storage.load()
        expect(st.hardState).toEqual({ term: 3, vote: 'b', commit: 2 })
        expect(st.lastIndex).toBe(2)
        await ctx.storage.save({ hardState: { term: 4, vote: '', commit: 2 } })
        const reopened = await ctx.reopen()
        st = await reopened.load()
        expect(st.hardState).toEqual({ term: 4, vote: '', commit: 2 })
        expect(st.lastIndex).toBe(2)
      })
    })

    it('applies concurrent saves in call order, failing only the invalid one', async () => {
      await withStore('concurrent', async ({ storage }) => {
        const saves: Promise<void>[] = []
        for (let i = 1; i <= 40; i++) saves.push(storage.save({ entries: [entry(i, 1)] }))
        // Observe the outcome at once: the rejection may come before the others resolve.
        const bad = storage.save({ entries: [entry(50, 1)] }).then(
          () => null,
          (err: unknown) => err,
        )
        for (let i = 41; i <= 60; i++)
          saves.push(storage.save({ entries: [entry(i, 1)], hardState: { term: 1, vote: 'a', commit: i } }))
        await Promise.all(saves)
        expect(await bad).toMatchObject({ code: 'ERR_INVALID' })
        const st = await storage.load()
        expect(st.lastIndex).toBe(60)
        expect(st.hardState.commit).toBe(60)
        expect(plain(await storage.entries(1, 61))).toEqual(plain(entries(1, 61, 1)))
      })
    })

    it(`round-trips ${many} entries across reopen`, async () => {
      await withStore('many', async (ctx) => {
        for (let lo = 1; lo <= many; lo += 100) {
          await ctx.storage.save({
            entries: entries(lo, Math.min(lo + 100, many + 1), 1 + Math.floor(lo / 1000), 64),
          })
        }
        const s = await ctx.reopen()
        const st = await s.load()
        expect(st.lastIndex).toBe(many)
        const all = await s.entries(1, many + 1)
        expect(all.length).toBe(many)
        all.forEach((e, i) => {
          expect(e.index).toBe(i + 1)
        })
        expect(plain(all.slice(-3))).toEqual(
          plain(entries(many - 2, many + 1, 1 + Math.floor((many - 99) / 1000), 64)),
        )
      })
    })

    it('writes a snapshot from chunks and reads it back', async () => {
      await withStore('snapshot', async ({ storage }) => {
        await storage.save({ entries: entries(1, 11, 2) })
        const parts = [bytes(1000, 1), bytes(0, 2), bytes(70_000, 3), bytes(5, 4)]
        await storage.writeSnapshot(snapshotMeta(8, 2), asyncChunks(parts))
        const snap = await readAll(storage)
        expect(snap?.meta).toEqual(snapshotMeta(8, 2))
        expect(snap?.size).toBe(71_005)
        const expected = new Uint8Array(71_005)
        let at = 0
        for (const p of parts) {
          expected.set(p, at)
          at += p.length
        }
        expect(snap && sameBytes(snap.data, expected)).toBe(true)
        // A local snapshot keeps the log.
        const st = await storage.load()
        expect(st.snapshot).toEqual(snapshotMeta(8, 2))
        expect(st.firstIndex).toBe(1)
        expect(st.lastIndex).toBe(10)
        expect(await storage.term(8)).toBe(2)
      })
    })

    it('accepts a snapshot from a plain iterable and replaces an older snapshot', async () => {
      await withStore('snapshot-replace', async ({ storage }) => {
        await storage.save({ entries: entries(1, 21, 1) })
        await storage.writeSnapshot(snapshotMeta(5, 1), [bytes(10, 1)])
        await storage.writeSnapshot(snapshotMeta(15, 1), [bytes(20, 2), bytes(30, 3)])
        const snap = await readAll(storage)
        expect(snap?.meta.index).toBe(15)
        expect(snap?.size).toBe(50)
        expect(Array.from(snap?.data.subarray(0, 20) ?? [])).toEqual(Array.from(bytes(20, 2)))
      })
    })

    it('compacts the log up to the snapshot', async () => {
      await withStore('compact', async (ctx) => {
        await ctx.storage.save({ entries: entries(1, 31, 1) })
        await expect(ctx.storage.compact(5)).rejects.toMatchObject({ code: 'ERR_INVALID' })
        await ctx.storage.writeSnapshot(snapshotMeta(20, 1), [bytes(3, 0)])
        await expect(ctx.storage.compact(21)).rejects.toMatchObject({ code: 'ERR_INVALID' })
        await ctx.storage.compact(20)
        let st = await ctx.storage.load()
        expect(st.firstIndex).toBe(21)
        expect(st.lastIndex).toBe(30)
        await expect(ctx.storage.entries(20, 25)).rejects.toMatchObject({ code: 'ERR_COMPACTED' })
        await expect(ctx.storage.entries(1, 2)).rejects.toMatchObject({ code: 'ERR_COMPACTED' })
        expect(plain(await ctx.storage.entries(21, 31))).toEqual(plain(entries(21, 31, 1)))
        expect(await ctx.storage.term(20)).toBe(1) // the snapshot's term
        expect(await ctx.storage.term(10)).toBeUndefined()
        // Compacting below the first index is a no-op.
        await ctx.storage.compact(3)
        expect((await ctx.storage.load()).firstIndex).toBe(21)
        // Appending below the first index is refused.
        await expect(ctx.storage.save({ entries: entries(15, 17, 2) })).rejects.toMatchObject({
          code: 'ERR_COMPACTED',
        })
        const s = await ctx.reopen()
        st = await s.load()
        expect(st.firstIndex).toBe(21)
        expect(st.lastIndex).toBe(30)
        expect(st.snapshot?.index).toBe(20)
        await expect(s.entries(19, 22)).rejects.toMatchObject({ code: 'ERR_COMPACTED' })
        expect(plain(await s.entries(21, 31))).toEqual(plain(entries(21, 31, 1)))
      })
    })

    it('compacts the whole log and keeps appending after it', async () => {
      await withStore('compact-all', async (ctx) => {
        await ctx.storage.save({ entries: entries(1, 11, 1) })
        await ctx.storage.writeSnapshot(snapshotMeta(10, 1), [bytes(4, 1)])
        await ctx.storage.compact(10)
        let st = await ctx.storage.load()
        expect(st.firstIndex).toBe(11)
        expect(st.lastIndex).toBe(10)
        await ctx.storage.save({ entries: entries(11, 14, 2) })
        const s = await ctx.reopen()
        st = await s.load()
        expect(st.firstIndex).toBe(11)
        expect(st.lastIndex).toBe(13)
        expect(plain(await s.entries(11, 14))).toEqual(plain(entries(11, 14, 2)))
      })
    })

    it('replaces the log with an incoming snapshot (replaceLog)', async () => {
      await withStore('replace-log', async (ctx) => {
        await ctx.storage.save({ entries: entries(1, 11, 1), hardState: { term: 1, vote: 'a', commit: 5 } })
        await ctx.storage.writeSnapshot(snapshotMeta(20, 3), asyncChunks([bytes(100, 9)]), {
          replaceLog: true,
        })
        let st = await ctx.storage.load()
        expect(st.firstIndex).toBe(21)
        expect(st.lastIndex).toBe(20)
        expect(st.snapshot).toEqual(snapshotMeta(20, 3))
        expect(await ctx.storage.term(20)).toBe(3)
        expect(await ctx.storage.term(5)).toBeUndefined()
        await expect(ctx.storage.entries(5, 6)).rejects.toMatchObject({ code: 'ERR_COMPACTED' })
        await expect(ctx.storage.save({ entries: entries(22, 23, 3) })).rejects.toMatchObject({
          code: 'ERR_INVALID',
        })
        await ctx.storage.save({ entries: entries(21, 24, 3), hardState: { term: 3, vote: '', commit: 20 } })
        const s = await ctx.reopen()
        st = await s.load()
        expect(st).toEqual({
          hardState: { term: 3, vote: '', commit: 20 },
          snapshot: snapshotMeta(20, 3),
          firstIndex: 21,
          lastIndex: 23,
        })
        expect(plain(await s.entries(21, 24))).toEqual(plain(entries(21, 24, 3)))
        const snap = await readAll(s)
        expect(snap?.data).toEqual(bytes(100, 9))
      })
    })

    it('replaceLog with a snapshot inside the current log still discards every entry', async () => {
      await withStore('replace-inside', async ({ storage }) => {
        await storage.save({ entries: entries(1, 11, 1) })
        await storage.writeSnapshot(snapshotMeta(6, 2), [bytes(8, 1)], { replaceLog: true })
        const st = await storage.load()
        expect(st.firstIndex).toBe(7)
        expect(st.lastIndex).toBe(6)
        expect(await storage.term(8)).toBeUndefined()
      })
    })

    it('keeps everything across close and reopen', async () => {
      await withStore('reopen', async (ctx) => {
        await ctx.storage.save({ entries: entries(1, 8, 1), hardState: { term: 1, vote: 'a', commit: 3 } })
        await ctx.storage.save({ entries: entries(5, 9, 2), hardState: { term: 2, vote: 'b', commit: 4 } })
        await ctx.storage.writeSnapshot(snapshotMeta(3, 1), [bytes(64, 5), bytes(64, 6)])
        await ctx.storage.compact(2)
        const s = await ctx.reopen()
        const st = await s.load()
        expect(st).toEqual({
          hardState: { term: 2, vote: 'b', commit: 4 },
          snapshot: snapshotMeta(3, 1),
          firstIndex: 3,
          lastIndex: 8,
        })
        expect(plain(await s.entries(3, 9))).toEqual(plain([...entries(3, 5, 1), ...entries(5, 9, 2)]))
        const snap = await readAll(s)
        expect(snap?.size).toBe(128)
        // The reopened store accepts more writes.
        await s.save({ entries: entries(9, 10, 2) })
        expect((await s.load()).lastIndex).toBe(9)
      })
    })

    it('keeps a truncated suffix truncated when compaction reaches the last index, across reopen', async () => {
      await withStore('truncate-compact', async (ctx) => {
        await ctx.storage.save({ entries: entries(1, 101, 1) })
        await ctx.storage.save({ entries: entries(30, 36, 2) })
        await ctx.storage.writeSnapshot(snapshotMeta(35, 2), [bytes(10, 1)])
        await ctx.storage.compact(35)
        const storage = await ctx.reopen()
        const st = await storage.load()
        expect(st).toMatchObject({ firstIndex: 36, lastIndex: 35 })
        expect(await storage.term(35)).toBe(2)
        expect(await storage.term(36)).toBeUndefined()
      })
    })

    it('keeps the hard state and overwritten-then-compacted entries across compaction and reopen', async () => {
      await withStore('hs-compact', async (ctx) => {
        const hs: HardState = { term: 3, vote: 'b', commit: 7 }
        await ctx.storage.save({ entries: entries(1, 11, 1), hardState: hs })
        await ctx.storage.save({ entries: entries(11, 21, 1) })
        await ctx.storage.save({ entries: entries(6, 9, 3) })
        await ctx.storage.writeSnapshot(snapshotMeta(4, 1), [bytes(10, 2)])
        await ctx.storage.compact(4)
        const storage = await ctx.reopen()
        expect(await storage.load()).toMatchObject({ hardState: hs, firstIndex: 5, lastIndex: 8 })
        expect(plain(await storage.entries(5, 9))).toEqual(plain([...entries(5, 6, 1), ...entries(6, 9, 3)]))
      })
    })

    it('refuses every call after close with ERR_CLOSED', async () => {
      const name = uniqueName('closed')
      const s = await harness.open(name)
      await s.save({ entries: entries(1, 3, 1) })
      await s.close()
      await expect(s.load()).rejects.toMatchObject({ code: 'ERR_CLOSED' })
      await expect(s.save({ entries: entries(3, 4, 1) })).rejects.toMatchObject({ code: 'ERR_CLOSED' })
      await expect(s.entries(1, 2)).rejects.toMatchObject({ code: 'ERR_CLOSED' })
      await expect(s.term(1)).rejects.toMatchObject({ code: 'ERR_CLOSED' })
      await expect(s.readSnapshot()).rejects.toMatchObject({ code: 'ERR_CLOSED' })
      await expect(s.compact(1)).rejects.toMatchObject({ code: 'ERR_CLOSED' })
      await s.close() // idempotent
      const again = await harness.open(name)
      expect((await again.load()).lastIndex).toBe(2)
      await again.close()
    })
  })
}

export interface Ctx {
  storage: Storage
  reopen(): Promise<Storage>
}

export type WithStore = (test: string, body: (s: Ctx) => Promise<void>) => Promise<void>
