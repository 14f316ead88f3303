import { describe, expect, it } from 'vitest'
import { EntryType, type Message, MessageType } from '../../src/raft/messages.js'
import { TestNet } from './harness.js'

const bytes = (s: string) => new TextEncoder().encode(s)

/** Takes an application snapshot at the applied index and compacts the log, as a driver would. */
function snapshotAt(net: TestNet, id: string, data: Uint8Array): number {
  const p = net.peer(id)
  const applied = p.node.raft.log.applied
  const meta = { index: applied, term: p.log.term(applied), conf: p.node.raft.conf }
  p.snaps.take(meta, data)
  p.log.createSnapshot(meta, data.length)
  return applied
}

describe('snapshots and log compaction', () => {
  it('a follower behind the compacted log receives the snapshot in chunks and resumes', () => {
    const net = new TestNet(['a', 'b', 'c'], { config: () => ({ snapshotChunkBytes: 100 }) })
    net.warm()
    net.elect('a')
    net.isolate('c')
    for (let i = 0; i < 10; i++) net.propose('a', `v${i}`)
    const state = new Uint8Array(1000).map((_, i) => i % 251)
    const index = snapshotAt(net, 'a', state)
    expect(net.peer('a').log.firstIndex()).toBe(index + 1)
    net.heal()
    net.tickAll(5)
    const chunks = net.delivered.filter((m) => m.type === MessageType.Snap && m.to === 'c')
    expect(chunks.length).toBeGreaterThanOrEqual(10)
    expect(chunks.every((m) => (m.snapshot?.data.length ?? 0) <= 100)).toBe(true)
    // Raft hands out requests; the bytes are filled from the store as they leave, never held.
    expect(chunks.every((m) => m.snapshot?.length === undefined)).toBe(true)
    const installed = net.peer('c').log.snapshot()
    expect(installed).toEqual({ meta: expect.objectContaining({ index }), size: state.length })
    expect(net.peer('c').snaps.current?.data).toEqual(state)
    // Replication resumes after the snapshot.
    net.propose('a', 'after')
    expect(net.appliedText('c')).toEqual(['after'])
    expect(net.raft('a').progress.get('c')?.match).toBe(net.raft('a').log.lastIndex())
  })

  it('a lost chunk is sent again and the snapshot still completes', () => {
    const net = new TestNet(['a', 'b', 'c'], { config: () => ({ snapshotChunkBytes: 64 }) })
    net.warm()
    net.elect('a')
    net.isolate('c')
    for (let i = 0; i < 5; i++) net.propose('a', `v${i}`)
    snapshotAt(net, 'a', new Uint8Array(500).fill(7))
    net.heal()
    let dropped = 0
    net.filter = (m) => !(m.type === MessageType.Snap && m.snapshot?.offset === 128 && dropped++ < 2)
    net.tickAll(12)
    expect(dropped).toBeGreaterThanOrEqual(1)
    expect(net.peer('c').snaps.current?.data).toEqual(new Uint8Array(500).fill(7))
  })

  it('a restarted peer starts from its snapshot and the entries after it', () => {
    const net = new TestNet(['a', 'b', 'c'])
    net.warm()
    net.elect('a')
    for (let i = 0; i < 4; i++) net.propose('a', `v${i}`)
    const index = snapshotAt(net, 'b', bytes('state'))
    net.propose('a', 'later')
    net.restart('b')
    expect(net.raft('b').log.firstIndex()).toBe(index + 1)
    net.tickAll(2)
    expect(net.appliedText('b')).toEqual(['later'])
  })
})

describe('snapshot transfer and installation', () => {
  it('a configuration change handed out before a snapshot arrived is not applied on top of it', () => {
    const net = new TestNet(['a', 'b', 'c'])
    net.warm()
    net.elect('a')
    // c is driven by hand: it holds a Ready with a committed change while a snapshot arrives.
    net.manual.add('c')
    const toC: Message[] = []
    net.filter = (m) => {
      if (m.to === 'c') toC.push(m)
      return m.to !== 'c' && m.from !== 'c'
    }
    net.peer('a').node.proposeConfChange({ changes: [{ type: 'learner', id: 'l' }] })
    net.stabilize()
    net.tickAll(1)
    const c = net.peer('c')
    for (const m of toC.splice(0)) c.node.step(m)
    const rd = c.node.ready()
    expect(rd.committedEntries.some((e) => e.type === EntryType.ConfChange)).toBe(true)
    c.log.append(rd.entries)
    // Meanwhile the group removes the learner again and compacts past both changes.
    net.peer('a').node.proposeConfChange({ changes: [{ type: 'remove', id: 'l' }] })
    net.stabilize()
    net.propose('a', 'later')
    snapshotAt(net, 'a', bytes('state'))
    const snap = net.peer('a').log.snapshot()
    expect(snap.meta.conf.learners).toEqual([])
    c.node.step({
      type: MessageType.Snap,
      from: 'a',
      to: 'c',
      term: net.raft('a').term,
      snapshot: { meta: snap.meta, offset: 0, total: 5, data: bytes('state') },
    })
    c.node.advance()
    expect(c.node.raft.conf).toEqual(snap.meta.conf)
  })

  it("a chunked snapshot is never stitched from two leaders' bytes", () => {
    const net = new TestNet(['a', 'b', 'c'])
    net.warm()
    net.elect('a')
    const c = net.peer('c')
    const term = net.raft('a').term
    const meta = { index: 50, term, conf: net.raft('a').conf }
    const chunk = (from: string, t: number, fill: number, offset: number, length = 100) => {
      c.node.step({
        type: MessageType.Snap,
        from,
        to: 'c',
        term: t,
        snapshot: { meta, offset, total: 200, data: new Uint8Array(length).fill(fill) },
      })
      const rd = c.node.ready()
      c.node.advance()
      return rd
    }
    expect(chunk('a', term, 1, 0).messages.at(-1)).toMatchObject({
      type: MessageType.SnapResp,
      rejectHint: 100,
    })
    // A new leader, same snapshot index and size, its own bytes: it must start from 0 again.
    const resumed = chunk('b', term + 1, 2, 100)
    expect(resumed.snapshot).toBeNull()
    expect(resumed.messages.at(-1)).toMatchObject({ type: MessageType.SnapResp, reject: true })
    const first = chunk('b', term + 1, 2, 0)
    const last = chunk('b', term + 1, 2, 100)
    expect(last.snapshot).toEqual({ meta, size: 200 })
    // The bytes written for the installed snapshot are b's alone, from offset 0.
    const written = [...first.snapshotChunks, ...last.snapshotChunks]
    expect(written.map((w) => [w.offset, w.data[0]])).toEqual([
      [0, 2],
      [100, 2],
    ])
  })

  it('a duplicated chunk acknowledgement does not stop the resend of a lost chunk', () => {
    const net = new TestNet(['a', 'b', 'c'], { config: () => ({ snapshotChunkBytes: 64 }) })
    net.warm()
    net.elect('a')
    net.isolate('c')
    for (let i = 0; i < 5; i++) net.propose('a', `v${i}`)
    const state = new Uint8Array(300).fill(5)
    snapshotAt(net, 'a', state)
    net.heal()
    const acks: Message[] = []
    let lost = false
    net.filter = (m) => {
      if (m.type === MessageType.SnapResp && m.rejectHint === 64) acks.push(m)
      if (m.type === MessageType.Snap && m.snapshot?.offset === 64 && !lost) {
        lost = true
        return false
      }
      return true
    }
    net.tickAll(1)
    expect(lost).toBe(true)
    // The acknowledgement of the first chunk arrives a second time, late.
    net.peer('a').node.step(acks[0])
    net.tickAll(12)
    expect(net.peer('c').snaps.current?.data).toEqual(state)
    expect(net.raft('a').progress.get('c')?.state).not.toBe('snapshot')
  })

  it('a leader ignores a chunk acknowledgement at or past the end of the snapshot', () => {
    const net = new TestNet(['a', 'b', 'c'], { config: () => ({ snapshotChunkBytes: 100 }) })
    net.warm()
    net.elect('a')
    net.isolate('c')
    for (let i = 0; i < 5; i++) net.propose('a', `v${i}`)
    const index = snapshotAt(net, 'a', new Uint8Array(500).fill(3))
    net.heal()
    const sent: Message[] = []
    net.filter = (m) => {
      if (m.type !== MessageType.Snap || m.to !== 'c') return true
      sent.push(m)
      return false
    }
    net.tickAll(1)
    expect(sent.at(-1)?.snapshot?.offset).toBe(0)
    const a = net.peer('a')
    const ack = (rejectHint: number) => {
      const term = net.raft('a').term
      a.node.step({ type: MessageType.SnapResp, from: 'c', to: 'a', term, index, rejectHint })
      net.stabilize()
    }
    // A hostile or buggy follower claims bytes it cannot hold: the leader does not move.
    for (const hint of [500, 501, 10_000, 2 ** 52]) ack(hint)
    expect(net.raft('a').progress.get('c')?.snapshotOffset).toBe(0)
    ack(100)
    expect(net.raft('a').progress.get('c')?.snapshotOffset).toBe(100)
    expect(sent.at(-1)?.snapshot).toMatchObject({ offset: 100, total: 500 })
    expect(sent.every((m) => (m.snapshot?.offset ?? 0) + (m.snapshot?.data.length ?? 0) <= 500)).toBe(true)
    expect(sent.every((m) => (m.snapshot?.data.length ?? 0) > 0)).toBe(true)
  })

  it('a newer transfer waits until the snapshot just completed is installed', () => {
    const net = new TestNet(['a', 'b', 'c'])
    net.warm()
    net.elect('a')
    const c = net.peer('c')
    const term = net.raft('a').term
    const conf = net.raft('a').conf
    const chunk = (index: number, offset: number) =>
      c.node.step({
        type: MessageType.Snap,
        from: 'a',
        to: 'c',
        term,
        snapshot: { meta: { index, term, conf }, offset, total: 200, data: new Uint8Array(100).fill(index) },
      })
    chunk(50, 0)
    c.node.ready()
    c.node.advance()
    // The last chunk of 50 and the first of 60 arrive before the driver takes the next Ready.
    chunk(50, 100)
    chunk(60, 0)
    const rd = c.node.ready()
    expect(rd.snapshot?.meta.index).toBe(50)
    // Written in order, then installed: every chunk handed out belongs to the snapshot installed.
    expect(rd.snapshotChunks.map((w) => [w.meta.index, w.offset])).toEqual([[50, 100]])
    c.node.advance()
    // Once installed, the newer transfer is taken from its start.
    chunk(60, 0)
    expect(c.node.ready().snapshotChunks.map((w) => [w.meta.index, w.offset])).toEqual([[60, 0]])
  })

  it('a follower hands each accepted chunk out once and keeps none of its bytes', () => {
    const net = new TestNet(['a', 'b', 'c'])
    net.warm()
    net.elect('a')
    const c = net.peer('c')
    const term = net.raft('a').term
    const meta = { index: 50, term, conf: net.raft('a').conf }
    const written: number[] = []
    for (const offset of [0, 100, 100, 300, 200]) {
      c.node.step({
        type: MessageType.Snap,
        from: 'a',
        to: 'c',
        term,
        snapshot: { meta, offset, total: 400, data: new Uint8Array(100).fill(offset / 100) },
      })
      const rd = c.node.ready()
      for (const w of rd.snapshotChunks) written.push(w.offset)
      c.node.advance()
      expect(c.node.raft.snapshotChunks).toEqual([])
    }
    // The duplicate and the chunk out of order were not accepted.
    expect(written).toEqual([0, 100, 200])
    expect(c.node.raft.incoming).toMatchObject({ received: 300, total: 400 })
    expect(Object.values(c.node.raft.incoming ?? {}).some((v) => v instanceof Uint8Array)).toBe(false)
  })
})
