import { describe, expect, it } from 'vitest'
import { applyConfChange, emptyConfState } from '../../src/raft/confchange.js'
import { MemoryLog } from '../../src/raft/log-storage.js'
import { TestNet } from './harness.js'

const conf = (voters: string[], learners: string[] = []) => ({ ...emptyConfState(), voters, learners })

describe('configuration changes (pure)', () => {
  it('a voter change enters a joint configuration that is left by an empty change', () => {
    const joint = applyConfChange(conf(['a', 'b', 'c']), {
      changes: [
        { type: 'voter', id: 'd' },
        { type: 'remove', id: 'a' },
      ],
    })
    expect(joint.voters.sort()).toEqual(['b', 'c', 'd'])
    expect(joint.outgoing.sort()).toEqual(['a', 'b', 'c'])
    expect(joint.autoLeave).toBe(true)
    const left = applyConfChange(joint, { changes: [] })
    expect(left.outgoing).toEqual([])
    expect(left.voters.sort()).toEqual(['b', 'c', 'd'])
  })

  it('a learner-only change applies directly', () => {
    const next = applyConfChange(conf(['a']), { changes: [{ type: 'learner', id: 'l' }] })
    expect(next).toEqual({ ...conf(['a'], ['l']) })
  })

  it('demoting a voter keeps it voting in the outgoing half, then makes it a learner', () => {
    const joint = applyConfChange(conf(['a', 'b', 'c']), { changes: [{ type: 'learner', id: 'c' }] })
    expect(joint.learnersNext).toEqual(['c'])
    expect(joint.outgoing).toContain('c')
    expect(applyConfChange(joint, { changes: [] }).learners).toEqual(['c'])
  })

  it('refuses changes that would leave no voter, or start from a joint configuration', () => {
    expect(() => applyConfChange(conf(['a']), { changes: [{ type: 'remove', id: 'a' }] })).toThrow(
      /every voter/,
    )
    const joint = applyConfChange(conf(['a', 'b']), { changes: [{ type: 'voter', id: 'c' }] })
    expect(() => applyConfChange(joint, { changes: [{ type: 'voter', id: 'd' }] })).toThrow(/joint/)
  })
})

describe('membership changes in a running group', () => {
  function withSpare(net: TestNet, id: string) {
    const p = net.add(id, conf([]))
    p.log.setHardState({ term: 0, vote: '', commit: 0 })
    return p
  }

  it('a learner catches up and receives every entry but never votes or counts for commit', () => {
    const net = new TestNet(['a', 'b', 'c'], { learners: ['l'] })
    net.warm()
    net.elect('a')
    net.propose('a', 'x')
    expect(net.appliedText('l')).toEqual(['x'])
    // With both voting followers cut off, the learner's acknowledgement cannot commit anything.
    net.isolate('b')
    net.isolate('c')
    net.propose('a', 'y')
    expect(net.appliedText('a')).toEqual(['x'])
    net.peer('l').node.campaign()
    net.stabilize()
    expect(net.raft('l').role).toBe('follower')
  })

  it('adds a voter through a joint configuration and leaves it automatically', () => {
    const net = new TestNet(['a', 'b', 'c'])
    net.warm()
    net.elect('a')
    net.propose('a', 'before')
    withSpare(net, 'd')
    net.peer('a').node.proposeConfChange({ changes: [{ type: 'voter', id: 'd' }] })
    net.stabilize()
    net.tickAll(3)
    for (const id of ['a', 'b', 'c', 'd']) {
      expect(net.raft(id).conf.voters.sort()).toEqual(['a', 'b', 'c', 'd'])
      expect(net.raft(id).conf.outgoing).toEqual([])
    }
    net.propose('a', 'after')
    expect(net.appliedText('d')).toEqual(['before', 'after'])
  })

  it('refuses a second change while one is still being applied', () => {
    const net = new TestNet(['a', 'b', 'c'])
    net.warm()
    net.elect('a')
    net.isolate('b')
    net.isolate('c')
    net.peer('a').node.proposeConfChange({ changes: [{ type: 'learner', id: 'x' }] })
    expect(() => net.peer('a').node.proposeConfChange({ changes: [{ type: 'learner', id: 'y' }] })).toThrow(
      expect.objectContaining({ code: 'ERR_CONF_CHANGE_PENDING' }),
    )
  })

  it('a removed leader hands leadership to a remaining voter before it leaves', () => {
    const net = new TestNet(['a', 'b', 'c'])
    net.warm()
    net.elect('a')
    net.peer('a').node.proposeConfChange({ changes: [{ type: 'remove', id: 'a' }] })
    net.stabilize()
    net.tickAll(5)
    const leader = net.leader()
    expect(leader === 'b' || leader === 'c').toBe(true)
    expect(net.raft(leader!).conf.voters.sort()).toEqual(['b', 'c'])
    net.propose(leader!, 'without-a')
    expect(net.appliedText(leader === 'b' ? 'c' : 'b')).toContain('without-a')
  })

  it('bootstraps from the membership stored in the log', () => {
    const log = new MemoryLog(conf(['a', 'b']))
    expect(log.initialState().conf.voters).toEqual(['a', 'b'])
  })
})
