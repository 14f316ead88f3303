import { afterEach, describe, expect, it } from 'vitest'
import { MemoryNetwork, MemoryStorage, openPeer, type Peer } from '../../src/index.js'
import { advance, CuttableTransport, ManualClock, StallableTimers } from '../../test-support/test-network.js'

const TICK = 10
const ELECTION = 10 * TICK

interface Member {
  peer: Peer
  timers: StallableTimers
  link: CuttableTransport
}

let members: Member[] = []

type Outcome<T> = { ok: true; value: T } | { ok: false; error: { code: string; stalenessMs?: number | null } }
const settle = <T>(p: Promise<T>): Promise<Outcome<T>> =>
  p.then(
    (value) => ({ ok: true as const, value }),
    (error) => ({ ok: false as const, error }),
  )
afterEach(async () => {
  await Promise.all(members.map((m) => m.peer.close({ transfer: false })))
  members = []
})

async function group(clock: ManualClock): Promise<Member[]> {
  const net = new MemoryNetwork()
  const ids = ['a', 'b', 'c']
  let seed = 1
  const random = () => {
    seed = (seed * 16807) % 2147483647
    return seed / 2147483647
  }
  for (const id of ids) {
    const timers = new StallableTimers(clock)
    const link = new CuttableTransport(net.endpoint(id))
    const peer = await openPeer({
      id,
      storage: new MemoryStorage(),
      transport: link,
      bootstrap: { voters: ids },
      engine: { engine: 'wasm' },
      raft: { tickMs: TICK, electionTicks: 10 },
      clock,
      timers,
      random,
    })
    members.push({ peer, timers, link })
  }
  return members
}

async function leaderOf(clock: ManualClock, all: Member[]): Promise<Member> {
  for (let i = 0; i < 200; i++) {
    const l = all.find((m) => m.peer.status().raftRole === 'leader')
    if (l) return l
    await advance(
      clock,
      all.map((m) => m.timers),
      TICK,
    )
  }
  throw new Error('no leader')
}

describe('a stalled timer never stretches a bound', () => {
  it('a follower whose timer stalls while its clock runs answers no bounded read past its bound', async () => {
    const clock = new ManualClock()
    const all = await group(clock)
    const timers = all.map((m) => m.timers)
    const leader = await leaderOf(clock, all)
    await leader.peer.createCollection('docs', { dimensions: 2, metric: 'l2sq' })
    const follower = all.find((m) => m !== leader)!
    // Connected and ticking: a proof is at most a few ticks old.
    const read = follower.peer.collection('docs').count({ consistency: { maxStalenessMs: 5 * TICK } })
    await advance(clock, timers, 5 * TICK)
    const fresh = await read
    expect(fresh.stalenessMs).not.toBeNull()
    expect(fresh.stalenessMs!).toBeLessThanOrEqual(5 * TICK)

    // Frozen: no timer fires and nothing arrives, but the monotonic clock runs on. A read asked
    // while the timer is still stalled is judged by the clock, not by the stalled tick count.
    follower.timers.stalled = true
    follower.link.cut = true
    await advance(clock, timers, 5 * ELECTION)
    const during = settle(
      follower.peer.collection('docs').count({ consistency: { maxStalenessMs: ELECTION } }),
    )
    await advance(clock, timers, ELECTION)
    follower.timers.stalled = false
    const local = await follower.peer.collection('docs').count({ consistency: 'local' })
    expect(local.stalenessMs === null || local.stalenessMs >= 5 * ELECTION).toBe(true)
    const after = settle(
      follower.peer.collection('docs').count({ consistency: { maxStalenessMs: ELECTION } }),
    )
    await advance(clock, timers, 2 * ELECTION)
    for (const outcome of [await during, await after]) {
      expect(outcome.ok).toBe(false)
      if (!outcome.ok) {
        expect(outcome.error.code).toBe('ERR_STALE')
        expect(outcome.error.stalenessMs).toBeGreaterThanOrEqual(5 * ELECTION)
      }
    }
  })

  it('a leader whose timer stalls answers no lease read after the group moved on', async () => {
    const clock = new ManualClock()
    const all = await group(clock)
    const timers = all.map((m) => m.timers)
    const old = await leaderOf(clock, all)
    await old.peer.createCollection('docs', { dimensions: 2, metric: 'l2sq' })
    await old.peer.collection('docs').upsert('p1', [1, 2])
    await advance(clock, timers, 3 * TICK)
    expect(old.peer.status().leaseValid).toBe(true)

    // The old leader is paused and cut off; the others elect a new leader and write.
    old.timers.stalled = true
    old.link.cut = true
    const rest = all.filter((m) => m !== old)
    const next = await leaderOf(clock, rest)
    const write = next.peer.collection('docs').upsert('p2', [3, 4])
    await advance(clock, timers, 5 * TICK)
    await write

    // A lease read on the old leader must not be served from its expired lease.
    // Asked while its timer is still stalled, its lease must have expired by its clock, not by
    // its tick count; it cannot confirm a read while cut off.
    const read = settle(old.peer.collection('docs').count({ consistency: 'lease', timeoutMs: ELECTION }))
    await advance(clock, timers, ELECTION)
    old.timers.stalled = false
    await advance(clock, timers, 3 * ELECTION)
    const outcome = await read
    expect(outcome.ok).toBe(false)
    if (!outcome.ok) expect(['ERR_TIMEOUT', 'ERR_NO_LEADER']).toContain(outcome.error.code)
  })
})
