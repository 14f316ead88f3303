import { describe, expect, it } from 'vitest'
import { MessageType } from '../../src/raft/messages.js'
import { TestNet } from './harness.js'

describe('leadership transfer (thesis §3.10)', () => {
  it('moves leadership to an up-to-date follower with TimeoutNow', () => {
    const net = new TestNet(['a', 'b', 'c'])
    net.warm()
    net.elect('a')
    net.propose('a', 'x')
    net.peer('a').node.transferLeadership('c')
    net.stabilize()
    expect(net.countDelivered(MessageType.TimeoutNow, 'c')).toBe(1)
    expect(net.leader()).toBe('c')
    net.propose('c', 'y')
    expect(net.appliedText('a')).toEqual(['x', 'y'])
  })

  it('brings a lagging target up to date first', () => {
    const net = new TestNet(['a', 'b', 'c'])
    net.warm()
    net.elect('a')
    net.isolate('c')
    net.propose('a', 'x')
    net.heal()
    net.peer('a').node.transferLeadership('c')
    net.stabilize()
    expect(net.leader()).toBe('c')
    expect(net.appliedText('c')).toContain('x')
  })

  it('refuses proposals while transferring, and gives up after an election timeout', () => {
    const net = new TestNet(['a', 'b', 'c'])
    net.warm()
    net.elect('a')
    net.isolate('c')
    net.peer('a').node.transferLeadership('c')
    expect(() => net.peer('a').node.propose(new Uint8Array([1]))).toThrow(
      expect.objectContaining({ code: 'ERR_PROPOSAL_DROPPED' }),
    )
    for (let i = 0; i < 10; i++) net.tick('a')
    net.stabilize()
    expect(net.raft('a').leadTransferee).toBe('')
    expect(net.leader()).toBe('a')
  })

  it('a follower forwards a transfer request to the leader', () => {
    const net = new TestNet(['a', 'b', 'c'])
    net.warm()
    net.elect('a')
    net.peer('b').node.transferLeadership('b')
    net.stabilize()
    expect(net.leader()).toBe('b')
  })
})
