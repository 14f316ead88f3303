import { describe, expect, it } from 'vitest'
import type { PeerDriver } from '../../src/peer/driver.js'
import { sendChunk, snapshotState } from '../../src/peer/snapshots.js'
import { type Message, MessageType, type SnapshotMeta } from '../../src/raft/messages.js'

const CHUNK = 4096
const tick = () => new Promise<void>((r) => setTimeout(r, 0))
const META: SnapshotMeta = {
  index: 5,
  term: 2,
  conf: {
    voters: ['a', 'b', 'c'],
    outgoing: [],
    learners: [],
    learnersNext: [],
    witnesses: [],
    autoLeave: false,
  },
}

/** A leader's driver whose storage holds a snapshot of three chunks, read only when released. */
function leaderDriver() {
  const pending: (() => void)[] = []
  const reads = { now: 0, most: 0 }
  const sent: Message[] = []
  const stored = {
    meta: META,
    size: 3 * CHUNK,
    async read(offset: number, length: number) {
      reads.most = Math.max(reads.most, ++reads.now)
      await new Promise<void>((resolve) => pending.push(resolve))
      reads.now--
      return new Uint8Array(length).fill(offset / CHUNK)
    },
  }
  const d = {
    snapshot: snapshotState(META.index, stored.size),
    state: 'running',
    storage: {
      async readSnapshot() {
        return stored
      },
    },
    send: (m: Message) => sent.push(m),
    counters: { dropped: { add() {} } },
    fail(err: Error) {
      throw err
    },
  }
  const request = (to: string, offset: number) => {
    const m: Message = {
      type: MessageType.Snap,
      from: 'a',
      to,
      term: 2,
      snapshot: { meta: META, offset, total: stored.size, length: CHUNK, data: new Uint8Array(0) },
    }
    return sendChunk(d as unknown as PeerDriver, m)
  }
  const releaseAll = async () => {
    while (pending.length > 0) {
      pending.shift()!()
      await tick()
    }
  }
  return { d, request, releaseAll, sent, reads }
}

const offsetsTo = (sent: Message[], to: string) =>
  sent.filter((m) => m.to === to).map((m) => m.snapshot!.offset)

describe('snapshot chunks on the sending side', () => {
  it('reads one chunk at a time per target; requests that come meanwhile keep only the newest', async () => {
    const { d, request, releaseAll, sent, reads } = leaderDriver()
    // A stalled chunk resent, then the next chunk, while the first read is in flight.
    const done = [request('b', 0), request('b', 0), request('b', CHUNK)]
    await tick()
    await releaseAll()
    await Promise.all(done)
    expect(reads.most).toBe(1)
    expect(d.snapshot.sending.peak).toBe(CHUNK)
    expect(d.snapshot.sending.now).toBe(0)
    expect(offsetsTo(sent, 'b')).toEqual([0, CHUNK])
    expect(sent.every((m) => m.snapshot!.data.length === CHUNK)).toBe(true)
    // The next request starts a read of its own.
    const again = request('b', 2 * CHUNK)
    await tick()
    await releaseAll()
    await again
    expect(offsetsTo(sent, 'b')).toEqual([0, CHUNK, 2 * CHUNK])
  })

  it('different targets are read side by side', async () => {
    const { d, request, releaseAll, sent, reads } = leaderDriver()
    const done = [request('b', 0), request('c', CHUNK)]
    await tick()
    expect(reads.now).toBe(2)
    await releaseAll()
    await Promise.all(done)
    expect(d.snapshot.sending.peak).toBe(2 * CHUNK)
    expect(offsetsTo(sent, 'b')).toEqual([0])
    expect(offsetsTo(sent, 'c')).toEqual([CHUNK])
  })
})
