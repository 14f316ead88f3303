import { describe, expect, it } from 'vitest'
import { emptyConfState } from '../../src/raft/confchange.js'
import { TestNet } from './harness.js'

const bytes = (s: string) => new TextEncoder().encode(s)

describe('witnesses', () => {
  it('vote and store the log, count for commit, but are never handed a command to apply', () => {
    const net = new TestNet(['a', 'b'], { witnesses: ['w'] })
    net.warm()
    net.elect('a')
    net.isolate('b')
    net.propose('a', 'x') // committed by a and the witness alone
    expect(net.appliedText('a')).toEqual(['x'])
    expect(net.peer('w').applied).toEqual([])
    expect(net.raft('w').log.lastIndex()).toBe(net.raft('a').log.lastIndex())
  })

  it('refuse writes and reads with ERR_WITNESS, and never hold a lease or a freshness proof', () => {
    const net = new TestNet(['a', 'b'], { witnesses: ['w'] })
    net.warm()
    net.elect('a')
    net.tickAll(3)
    const w = net.peer('w').node
    expect(() => w.propose(bytes('x'))).toThrow(expect.objectContaining({ code: 'ERR_WITNESS' }))
    expect(() => w.readIndex(bytes('r'))).toThrow(expect.objectContaining({ code: 'ERR_WITNESS' }))
    expect(w.freshness()).toBeNull()
    expect(net.raft('w').leaseValid()).toBe(false)
  })

  it('drop log entries once every data voter holds them', () => {
    const net = new TestNet(['a', 'b'], { witnesses: ['w'], config: () => ({ witnessCompactEntries: 4 }) })
    net.warm()
    net.elect('a')
    for (let i = 0; i < 10; i++) net.propose('a', `v${i}`)
    net.tickAll(2)
    expect(net.peer('w').log.firstIndex()).toBeGreaterThan(8)
  })

  it('keep entries a data voter lacks', () => {
    const net = new TestNet(['a', 'b'], { witnesses: ['w'], config: () => ({ witnessCompactEntries: 4 }) })
    net.warm()
    net.elect('a')
    net.isolate('b')
    for (let i = 0; i < 10; i++) net.propose('a', `v${i}`)
    net.tickAll(2)
    expect(net.peer('w').log.firstIndex()).toBeLessThanOrEqual(net.raft('b').log.lastIndex() + 1)
  })

  it('2 data voters + witness: losing the leader after a write acked by leader and witness loses nothing', () => {
    // a and w hold the tail; b is behind. a dies: the witness must win, pass its tail to b and
    // hand leadership to b, which can then write again.
    const net = new TestNet(['a', 'b'], { witnesses: ['w'] })
    net.warm()
    net.elect('a')
    net.propose('a', 'early')
    net.isolate('b')
    net.propose('a', 'acked-by-a-and-w')
    expect(net.appliedText('a')).toContain('acked-by-a-and-w')
    net.heal()
    net.isolate('a') // a is gone for good
    net.tickAll(80)
    expect(net.leader()).toBe('b')
    expect(net.appliedText('b')).toContain('acked-by-a-and-w')
    net.propose('b', 'after-failover')
    expect(net.appliedText('b')).toContain('after-failover')
    expect(net.peer('w').applied).toEqual([])
  })

  it('a witness leader takes no proposals', () => {
    const net = new TestNet(['a', 'b'], { witnesses: ['w'] })
    net.warm()
    net.isolate('a')
    net.isolate('b')
    net.elect('w')
    net.heal()
    net.isolate('a')
    net.elect('w')
    expect(net.raft('w').role === 'leader' || net.leader() === 'b').toBe(true)
    if (net.raft('w').role === 'leader') {
      expect(() => net.peer('w').node.propose(bytes('x'))).toThrow(
        expect.objectContaining({ code: 'ERR_WITNESS' }),
      )
    }
  })
})

describe('membership with witnesses', () => {
  it('refuses a change whose data voters all lack the committed log (a witness cannot fill them in)', () => {
    const net = new TestNet(['a'], { witnesses: ['w'] })
    net.add('b', emptyConfState())
    net.warm()
    net.elect('a')
    net.isolate('b')
    net.propose('a', 'x')
    expect(() =>
      net.peer('a').node.proposeConfChange({
        changes: [
          { type: 'learner', id: 'a' },
          { type: 'voter', id: 'b' },
        ],
      }),
    ).toThrow(/holds the committed log/)
    // Adding b first is fine; once it holds the log, a may step back.
    net.heal()
    net.peer('a').node.proposeConfChange({ changes: [{ type: 'voter', id: 'b' }] })
    net.tickAll(4)
    net.peer('a').node.proposeConfChange({ changes: [{ type: 'learner', id: 'a' }] })
    net.tickAll(4)
    expect(net.raft('b').conf.voters).toEqual(['w', 'b'])
  })
})
