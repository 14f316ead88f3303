import { afterEach, describe, expect, it } from 'vitest'
import { openIdbStorage } from '../src/index.js'

const conf = { voters: ['a'], outgoing: [], learners: [], learnersNext: [], witnesses: [], autoLeave: false }
const peer = (name: string) => `${name}-${Math.random().toString(36).slice(2)}`
const KiB = 1024

/** Deterministic bytes that differ at every offset modulo 251 and from snapshot to snapshot. */
function pattern(size: number, salt: number): Uint8Array {
  const out = new Uint8Array(size)
  for (let i = 0; i < size; i++) out[i] = (i * 7 + salt) % 251
  return out
}

// Counts IndexedDB reads of snapshot pieces (getAll on the snapshotChunks store).
const realGetAll = IDBObjectStore.prototype.getAll
let pieceReads = 0
IDBObjectStore.prototype.getAll = function (
  this: IDBObjectStore,
  ...args: Parameters<IDBObjectStore['getAll']>
) {
  if (this.name === 'snapshotChunks') pieceReads++
  return realGetAll.apply(this, args)
}
afterEach(() => {
  pieceReads = 0
})

/** The first offset where `a` and `b` differ (-1: none); cheaper than a deep equal of megabytes. */
function firstDifference(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length)
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i
  return -1
}

/** Reads the whole snapshot in `chunk`-byte reads, a fresh handle per read as the peer does. */
async function readInChunks(
  s: Awaited<ReturnType<typeof openIdbStorage>>,
  chunk: number,
): Promise<Uint8Array> {
  const size = (await s.readSnapshot())!.size
  const out = new Uint8Array(size)
  for (let offset = 0; offset < size; offset += chunk) {
    const handle = (await s.readSnapshot())!
    out.set(await handle.read(offset, Math.min(chunk, size - offset)), offset)
  }
  return out
}

describe('IdbStorage: reading a snapshot in chunks', () => {
  it('reads each 1 MiB piece from IndexedDB once for 256 KiB chunks, bytes exact', async () => {
    const s = await openIdbStorage({ peerId: peer('chunks') })
    const data = pattern(3 * 1024 * KiB + 100, 1)
    await s.writeSnapshot({ index: 10, term: 1, conf }, [data])
    pieceReads = 0
    expect(firstDifference(await readInChunks(s, 256 * KiB), data)).toBe(-1)
    expect(pieceReads).toBe(4)
    await s.close()
  })

  it('serves chunks that straddle pieces exactly', async () => {
    const s = await openIdbStorage({ peerId: peer('straddle') })
    const data = pattern(2 * 1024 * KiB + 12_345, 2)
    await s.writeSnapshot({ index: 10, term: 1, conf }, [data])
    pieceReads = 0
    expect(firstDifference(await readInChunks(s, 300 * KiB + 7), data)).toBe(-1)
    // Three pieces: the reads at 0, at the chunk spanning pieces 0-1 and the one spanning 1-2.
    expect(pieceReads).toBe(3)
    await s.close()
  })

  it('never serves a replaced snapshot from what it read before', async () => {
    const s = await openIdbStorage({ peerId: peer('replaced') })
    const first = pattern(1024 * KiB + 10, 3)
    await s.writeSnapshot({ index: 10, term: 1, conf }, [first])
    const old = (await s.readSnapshot())!
    expect(firstDifference(await old.read(0, 256 * KiB), first.subarray(0, 256 * KiB))).toBe(-1)
    const second = pattern(1024 * KiB + 10, 4)
    await s.writeSnapshot({ index: 20, term: 1, conf }, [second])
    await expect(old.read(0, 256 * KiB)).rejects.toMatchObject({ code: 'ERR_UNAVAILABLE' })
    expect(firstDifference(await readInChunks(s, 256 * KiB), second)).toBe(-1)
    await s.close()
  })
})
