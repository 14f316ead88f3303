import { describe, expect, it } from 'vitest'
import { MessageType } from '../../src/raft/messages.js'
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
