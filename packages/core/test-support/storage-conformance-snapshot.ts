import { expect, it } from 'vitest'
import type { Storage } from '../src/storage/storage.js'
import {
  asyncChunks,
  bytes,
  entries,
  plain,
  readAll,
  sameBytes,
  snapshotMeta,
  type WithStore,
} from './storage-conformance.js'

/** The bytes of `parts` joined. */
function joined(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

/** Writes `parts` through a snapshot writer, each at the offset it lands on. */
async function writeParts(storage: Storage, index: number, term: number, parts: Uint8Array[]) {
  const writer = await storage.beginSnapshot(snapshotMeta(index, term))
  let at = 0
  for (const p of parts) {
    await writer.write(at, p)
    at += p.length
  }
  expect(writer.size).toBe(at)
  return writer
}

/** The stored snapshot and log, to compare before and after something that must change neither. */
async function stateOf(storage: Storage) {
  const st = await storage.load()
  const snap = await readAll(storage)
  const log =
    st.lastIndex >= st.firstIndex ? plain(await storage.entries(st.firstIndex, st.lastIndex + 1)) : []
  return { st, snap: snap && { meta: snap.meta, data: Array.from(snap.data) }, log }
}

/**
 * Snapshots written as they arrive and read a range at a time (issues 8 and 15): cases of the
 * conformance suite, run inside it for every store.
 */
export function snapshotStreamCases(withStore: WithStore): void {
  it('reads byte ranges of the stored snapshot', async () => {
    await withStore('snapshot-range', async ({ storage }) => {
      const parts = [bytes(1000, 1), bytes(70_000, 2), bytes(5, 3)]
      const whole = joined(parts)
      await storage.writeSnapshot(snapshotMeta(4, 1), asyncChunks(parts))
      const snap = await storage.readSnapshot()
      expect(snap?.size).toBe(whole.length)
      for (const [offset, length] of [
        [0, 10],
        [995, 10],
        [1000, 70_000],
        [0, whole.length],
        [whole.length - 5, 5],
        [whole.length, 0],
        [500, 0],
      ]) {
        const got = await snap!.read(offset, length)
        expect(got.length).toBe(length)
        expect(sameBytes(got, whole.subarray(offset, offset + length))).toBe(true)
      }
      for (const [offset, length] of [
        [whole.length - 4, 5],
        [whole.length + 1, 0],
        [-1, 2],
        [0.5, 1],
      ])
        await expect(snap!.read(offset, length)).rejects.toMatchObject({ code: 'ERR_INVALID' })
    })
  })

  it('fails a ranged read of a replaced snapshot with ERR_UNAVAILABLE', async () => {
    await withStore('snapshot-range-replaced', async ({ storage }) => {
      await storage.save({ entries: entries(1, 11, 1) })
      await storage.writeSnapshot(snapshotMeta(4, 1), [bytes(300, 1)])
      const old = await storage.readSnapshot()
      expect(Array.from(await old!.read(10, 3))).toEqual(Array.from(bytes(300, 1).subarray(10, 13)))
      await storage.writeSnapshot(snapshotMeta(8, 1), [bytes(300, 2)])
      await expect(old!.read(10, 3)).rejects.toMatchObject({ code: 'ERR_UNAVAILABLE' })
      const current = await storage.readSnapshot()
      expect(current?.meta.index).toBe(8)
      expect(Array.from(await current!.read(10, 3))).toEqual(Array.from(bytes(300, 2).subarray(10, 13)))
    })
  })

  it('writes an incoming snapshot piece by piece, invisible until it commits and replaces the log', async () => {
    await withStore('snapshot-writer', async (ctx) => {
      await ctx.storage.save({ entries: entries(1, 11, 1), hardState: { term: 1, vote: 'a', commit: 6 } })
      await ctx.storage.writeSnapshot(snapshotMeta(5, 1), [bytes(40, 7)])
      const before = await stateOf(ctx.storage)
      const parts = [bytes(100_000, 1), bytes(1, 2), bytes(300_000, 3), bytes(7, 4)]
      const writer = await writeParts(ctx.storage, 30, 2, parts)
      expect(await stateOf(ctx.storage)).toEqual(before)
      await writer.commit({ replaceLog: true })
      const st = await ctx.storage.load()
      expect(st).toMatchObject({ snapshot: snapshotMeta(30, 2), firstIndex: 31, lastIndex: 30 })
      expect(await ctx.storage.term(30)).toBe(2)
      await ctx.storage.save({ entries: entries(31, 34, 2) })
      const s = await ctx.reopen()
      expect(await s.load()).toMatchObject({ snapshot: snapshotMeta(30, 2), firstIndex: 31, lastIndex: 33 })
      const snap = await readAll(s)
      expect(snap?.size).toBe(400_008)
      expect(snap && sameBytes(snap.data, joined(parts))).toBe(true)
      const stored = await s.readSnapshot()
      expect(sameBytes(await stored!.read(99_999, 3), joined(parts).subarray(99_999, 100_002))).toBe(true)
    })
  })

  it('an aborted snapshot write leaves the snapshot and the log as they were', async () => {
    await withStore('snapshot-abort', async (ctx) => {
      await ctx.storage.save({ entries: entries(1, 11, 1), hardState: { term: 1, vote: '', commit: 4 } })
      await ctx.storage.writeSnapshot(snapshotMeta(4, 1), [bytes(64, 1)])
      const before = await stateOf(ctx.storage)
      const writer = await writeParts(ctx.storage, 20, 2, [bytes(5000, 2), bytes(5000, 3)])
      await writer.abort()
      await writer.abort() // idempotent
      await expect(writer.write(10_000, bytes(1, 1))).rejects.toMatchObject({ code: 'ERR_INVALID' })
      expect(await stateOf(ctx.storage)).toEqual(before)
      await ctx.storage.save({ entries: entries(11, 12, 1) })
      const s = await ctx.reopen()
      const after = await stateOf(s)
      expect(after.snap).toEqual(before.snap)
      expect(after.st).toMatchObject({ firstIndex: 1, lastIndex: 11, snapshot: snapshotMeta(4, 1) })
    })
  })

  it('a snapshot write cut off by a crash is gone after reopen; the old state stays', async () => {
    await withStore('snapshot-partial', async (ctx) => {
      await ctx.storage.save({ entries: entries(1, 9, 1), hardState: { term: 1, vote: 'b', commit: 3 } })
      await ctx.storage.writeSnapshot(snapshotMeta(3, 1), [bytes(128, 5)])
      const before = await stateOf(ctx.storage)
      // Never committed nor aborted: the process went away mid-transfer.
      await writeParts(ctx.storage, 50, 3, [bytes(200_000, 1), bytes(1000, 2)])
      const s = await ctx.reopen()
      expect(await stateOf(s)).toEqual(before)
      // A new transfer after the restart starts from scratch and completes.
      const writer = await writeParts(s, 50, 3, [bytes(3000, 9)])
      await writer.commit({ replaceLog: true })
      const snap = await readAll(s)
      expect(snap?.meta).toEqual(snapshotMeta(50, 3))
      expect(snap && sameBytes(snap.data, bytes(3000, 9))).toBe(true)
    })
  })

  it('refuses a snapshot write out of order with ERR_INVALID and keeps what was written', async () => {
    await withStore('snapshot-order', async ({ storage }) => {
      const writer = await writeParts(storage, 9, 1, [bytes(100, 1)])
      await expect(writer.write(50, bytes(10, 2))).rejects.toMatchObject({ code: 'ERR_INVALID' })
      await expect(writer.write(101, bytes(10, 2))).rejects.toMatchObject({ code: 'ERR_INVALID' })
      expect(writer.size).toBe(100)
      await writer.write(100, bytes(10, 3))
      await writer.commit()
      const snap = await readAll(storage)
      expect(snap && sameBytes(snap.data, joined([bytes(100, 1), bytes(10, 3)]))).toBe(true)
    })
  })

  it('commits an empty snapshot through a writer (metadata only)', async () => {
    await withStore('snapshot-empty-writer', async ({ storage }) => {
      await storage.save({ entries: entries(1, 4, 1) })
      const writer = await storage.beginSnapshot(snapshotMeta(7, 2))
      await writer.commit({ replaceLog: true })
      expect(await storage.load()).toMatchObject({
        snapshot: snapshotMeta(7, 2),
        firstIndex: 8,
        lastIndex: 7,
      })
      const snap = await readAll(storage)
      expect(snap?.size).toBe(0)
      expect(snap?.data.length).toBe(0)
      expect((await (await storage.readSnapshot())!.read(0, 0)).length).toBe(0)
    })
  })
}
