import { afterEach, describe, expect, it } from 'vitest'
import { peerInternals } from '../../src/peer/internals.js'
import { type Message, MessageType } from '../../src/raft/messages.js'
import type { MemoryStorage, StoredSnapshot } from '../../src/storage/index.js'
import { FAST, type TestGroup, testGroup } from './helpers.js'

let group: TestGroup | undefined
afterEach(async () => {
  await group?.close()
  group = undefined
})

const CHUNK = 4096
const DIMS = 32
const vec = (i: number) => Array.from({ length: DIMS }, (_, d) => Math.sin(i * 7 + d))

/** What a store's snapshot was read as: ranges (and their sizes) or whole streams. */
interface Reads {
  ranges: number[]
  streams: number
}

/** Counts how `storage`'s snapshots are read from now on. */
function watchReads(storage: MemoryStorage): Reads {
  const reads: Reads = { ranges: [], streams: 0 }
  const readSnapshot = storage.readSnapshot.bind(storage)
  storage.readSnapshot = async (): Promise<StoredSnapshot | null> => {
    const snap = await readSnapshot()
    if (!snap) return null
    return {
      ...snap,
      chunks() {
        reads.streams++
        return snap.chunks()
      },
      read(offset, length) {
        reads.ranges.push(length)
        return snap.read(offset, length)
      },
    }
  }
  return reads
}

describe('snapshot transfer, streamed', () => {
  it('a new member receives a snapshot of many chunks holding at most one at a time; the leader sends it by ranges', async () => {
    group = await testGroup(['a', 'b', 'c'], {
      extra: { snapshot: { entries: 20 }, raft: { ...FAST, snapshotChunkBytes: CHUNK } },
    })
    const leader = await group.leader()
    await leader.createCollection('docs', { dimensions: DIMS, metric: 'cos' })
    const docs = leader.collection('docs')
    for (let i = 0; i < 40; i++)
      await docs.upsert(
        Array.from({ length: 10 }, (_, j) => ({
          id: `p${i * 10 + j}`,
          vector: vec(i * 10 + j),
          metadata: { i },
        })),
      )
    for (const p of group.peers.values()) await p.collection('docs').count({ minIndex: 40 })
    const reads = new Map([...group.storages].map(([id, s]) => [id, watchReads(s)]))

    const d = await group.open('d', { bootstrap: undefined })
    const { index } = await group.onLeader((l) => l.addMember('d', { as: 'voter' }))
    const r = await d.collection('docs').count({ minIndex: index, consistency: 'local' })
    expect(r.count).toBe(400)
    const hit = await d.collection('docs').search(vec(123), { k: 1, consistency: 'local' })
    expect(hit.hits[0].id).toBe('p123')

    const driver = peerInternals.get(d)!
    expect(d.metrics().snapshotsInstalled).toBe(1)
    // Many chunks: the point is that no more than one of them is ever held.
    expect(driver.snapshot.bytes).toBeGreaterThan(8 * CHUNK)
    expect(driver.snapshot.receiving.peak).toBeGreaterThan(0)
    expect(driver.snapshot.receiving.peak).toBeLessThanOrEqual(2 * CHUNK)
    expect(driver.snapshot.receiving.now).toBe(0)
    expect(driver.snapshot.incoming).toBeNull()

    // The sender read the snapshot a chunk-sized range at a time, never whole.
    const sender = [...reads].find(([, r]) => r.ranges.length > 0)
    expect(sender).toBeDefined()
    const [senderId, sent] = sender!
    expect(sent.ranges.length).toBeGreaterThan(8)
    expect(Math.max(...sent.ranges)).toBeLessThanOrEqual(CHUNK)
    expect(sent.ranges.reduce((n, l) => n + l, 0)).toBeGreaterThanOrEqual(driver.snapshot.bytes)
    expect(sent.streams).toBe(0)
    const senderDriver = peerInternals.get(group.peers.get(senderId)!)!
    expect(senderDriver.snapshot.sending.peak).toBeLessThanOrEqual(2 * CHUNK)
    // Raft keeps the snapshot's metadata and size, no bytes.
    expect(Object.values(senderDriver.log.snapshot()).some((v) => v instanceof Uint8Array)).toBe(false)
  })

  it('a member closed mid-transfer keeps its old state, then takes a new transfer from offset 0', async () => {
    group = await testGroup(['a', 'b', 'c'], {
      extra: { snapshot: { entries: 20 }, raft: { ...FAST, snapshotChunkBytes: CHUNK } },
    })
    const leader = await group.leader()
    await leader.createCollection('docs', { dimensions: DIMS, metric: 'cos' })
    for (let i = 0; i < 30; i++)
      await leader
        .collection('docs')
        .upsert(Array.from({ length: 10 }, (_, j) => ({ id: `p${i * 10 + j}`, vector: vec(i * 10 + j) })))
    for (const p of group.peers.values()) await p.collection('docs').count({ minIndex: 30 })

    // Chunks to d past the fourth are lost until d comes back.
    const offsets: number[] = []
    let cut = true
    const deliver = group.net.deliver.bind(group.net)
    group.net.deliver = (m: Message) => {
      if (m.to === 'd' && m.type === MessageType.Snap) {
        offsets.push(m.snapshot?.offset ?? -1)
        if (cut && offsets.length > 4) return true
      }
      return deliver(m)
    }
    const d = await group.open('d', { bootstrap: undefined })
    const added = group.onLeader((l) => l.addMember('d', { as: 'voter', timeoutMs: 20_000 }))
    const driver = peerInternals.get(d)!
    for (let i = 0; i < 500 && (driver.snapshot.incoming?.writer.size ?? 0) < 4 * CHUNK; i++)
      await new Promise<void>((r) => setTimeout(r, 10))
    expect(driver.snapshot.incoming?.writer.size).toBe(4 * CHUNK)
    await d.close()
    const store = group.storages.get('d')!.reopen()
    // Nothing of the transfer is visible: no snapshot, no log.
    expect(await store.load()).toMatchObject({ snapshot: null, firstIndex: 1, lastIndex: 0 })
    expect(await store.readSnapshot()).toBeNull()
    await store.close()

    cut = false
    const seen = offsets.length
    const back = await group.open('d', { bootstrap: undefined })
    const { index } = await added
    expect((await back.collection('docs').count({ minIndex: index, consistency: 'local' })).count).toBe(300)
    expect(back.metrics().snapshotsInstalled).toBe(1)
    // The leader started over from 0 for the restarted member.
    expect(offsets.slice(seen)).toContain(0)
  })
})
