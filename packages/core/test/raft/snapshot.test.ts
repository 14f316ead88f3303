import { describe, expect, it } from 'vitest'
import { EntryType, type Message, MessageType } from '../../src/raft/messages.js'
import { TestNet } from './harness.js'

const bytes = (s: string) => new TextEncoder().encode(s)

/** Takes an application snapshot at the applied index and compacts the log, as a driver would. */
function snapshotAt(net: TestNet, id: string, data: Uint8Array): number {
  const p = net.peer(id)
  const applied = p.node.raft.log.applied
  p.log.createSnapshot({ index: applied, term: p.log.term(applied), conf: p.node.raft.conf }, data)
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
    const installed = net.peer('c').log.snapshot()
    expect(installed.meta.index).toBe(index)
    expect(installed.data).toEqual(state)
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
    expect(net.peer('c').log.snapshot().data).toEqual(new Uint8Array(500).fill(7))
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
      snapshot: { meta: snap.meta, offset: 0, total: snap.data.length, data: snap.data },
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
    chunk('b', term + 1, 2, 0)
    expect(chunk('b', term + 1, 2, 100).snapshot?.data).toEqual(new Uint8Array(200).fill(2))
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
    expect(net.peer('c').log.snapshot().data).toEqual(state)
    expect(net.raft('a').progress.get('c')?.state).not.toBe('snapshot')
  })
})
