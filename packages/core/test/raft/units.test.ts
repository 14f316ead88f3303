import { describe, expect, it } from 'vitest'
import { maxLeaseTicks, resolveConfig } from '../../src/raft/config.js'
import { Inflights } from '../../src/raft/inflights.js'
import { MemoryLog } from '../../src/raft/log-storage.js'
import { Progress } from '../../src/raft/progress.js'
import { jointValue, jointVote, majorityValue, majorityVote } from '../../src/raft/quorum.js'

describe('quorum', () => {
  const match: Record<string, number> = { a: 5, b: 3, c: 9, d: 1, e: 7 }
  it('the committed index of a majority is the median of the sorted matches', () => {
    expect(majorityValue(['a', 'b', 'c'], (id) => match[id])).toBe(5)
    expect(majorityValue(['a', 'b', 'c', 'd', 'e'], (id) => match[id])).toBe(5)
    expect(majorityValue(['a', 'b', 'c', 'd'], (id) => match[id])).toBe(3)
  })

  it('a joint configuration needs both halves', () => {
    expect(jointValue(['a', 'c'], ['b', 'd', 'e'], (id) => match[id])).toBe(3)
  })

  it('votes: won, lost or still pending', () => {
    const votes = new Map([
      ['a', true],
      ['b', false],
    ])
    expect(majorityVote(['a', 'b', 'c'], votes)).toBe('pending')
    votes.set('c', true)
    expect(majorityVote(['a', 'b', 'c'], votes)).toBe('won')
    expect(jointVote(['a', 'b', 'c'], ['b', 'd', 'e'], votes)).toBe('pending')
    votes.set('d', false)
    expect(jointVote(['a', 'b', 'c'], ['b', 'd', 'e'], votes)).toBe('lost')
  })
})

describe('flow control', () => {
  it('the in-flight window fills by count or bytes and frees in order', () => {
    const inf = new Inflights(3, 100)
    inf.add(5, 10)
    inf.add(6, 10)
    expect(inf.full()).toBe(false)
    inf.add(7, 10)
    expect(inf.full()).toBe(true)
    inf.freeLE(6)
    expect(inf.count).toBe(1)
    inf.add(9, 95)
    expect(inf.full()).toBe(true) // 105 bytes
    inf.freeFirst()
    expect(inf.count).toBe(1)
  })

  it('progress: probe sends one append at a time; rejections back off to the hint', () => {
    const pr = new Progress(11, 8, 0)
    expect(pr.isPaused()).toBe(false)
    pr.probeSent = true
    expect(pr.isPaused()).toBe(true)
    expect(pr.maybeDecrTo(10, 4)).toBe(true)
    expect(pr.next).toBe(5)
    expect(pr.maybeDecrTo(10, 2)).toBe(false) // stale: we already moved on
    pr.maybeUpdate(6)
    pr.becomeReplicate()
    expect(pr.next).toBe(7)
  })
})

describe('configuration', () => {
  const storage = new MemoryLog({
    voters: ['a'],
    outgoing: [],
    learners: [],
    learnersNext: [],
    witnesses: [],
    autoLeave: false,
  })
  it('defaults to pre-vote, check-quorum, 5% drift and a lease one tick short of the safe bound', () => {
    const c = resolveConfig({ id: 'a', storage, random: Math.random })
    expect(c.preVote).toBe(true)
    expect(c.checkQuorum).toBe(true)
    expect(c.maxClockDrift).toBe(0.05)
    expect(c.leaseTicks).toBe(7)
    expect(maxLeaseTicks(10, 0.05)).toBe(8)
  })

  it('sizes the lease from the drift bound at every election timeout', () => {
    const base = { id: 'a', storage, random: Math.random }
    for (const maxClockDrift of [0, 0.01, 0.05, 0.1, 0.3]) {
      for (let electionTick = 2; electionTick <= 100; electionTick++) {
        const c = resolveConfig({ ...base, electionTick, maxClockDrift })
        const limit = maxLeaseTicks(electionTick, maxClockDrift)
        // A lease of leaseTicks slow-clock ticks ends before (electionTick - 1) fast-clock ticks.
        expect(limit * (1 + maxClockDrift)).toBeLessThanOrEqual(
          (electionTick - 1) * (1 - maxClockDrift) + 1e-9,
        )
        expect((limit + 1) * (1 + maxClockDrift)).toBeGreaterThan((electionTick - 1) * (1 - maxClockDrift))
        expect(c.leaseTicks).toBeLessThanOrEqual(limit)
        expect(() => resolveConfig({ ...base, electionTick, maxClockDrift, leaseTicks: limit + 1 })).toThrow(
          /leaseTicks/,
        )
      }
    }
    // The review's cases: electionTick 30 allowed a 27-tick lease by default, 28 at most.
    expect(resolveConfig({ ...base, electionTick: 30 }).leaseTicks).toBeLessThanOrEqual(26)
    expect(() => resolveConfig({ ...base, electionTick: 30, leaseTicks: 27 })).toThrow(/leaseTicks/)
    expect(() => resolveConfig({ ...base, maxClockDrift: 1 })).toThrow(/maxClockDrift/)
  })

  it('rejects settings that would be unsafe, naming the field', () => {
    const base = { id: 'a', storage, random: Math.random }
    expect(() => resolveConfig({ ...base, leaseTicks: 9 })).toThrow(/leaseTicks/)
    expect(() => resolveConfig({ ...base, checkQuorum: false, leaseTicks: 5 })).toThrow(/checkQuorum/)
    expect(() => resolveConfig({ ...base, electionTick: 1 })).toThrow(/electionTick/)
    expect(() => resolveConfig({ ...base, id: '' })).toThrow(/id/)
  })
})
