import type { Ready } from '../raft/raw-node.js'
import type { PeerWorld, WorldPeer } from './peer-world.js'
import type { Rng } from './rng.js'
import { CALM } from './sim-network.js'

type Action =
  | 'partition'
  | 'crash'
  | 'crashLeader'
  | 'stall'
  | 'stallLeader'
  | 'isolateLeader'
  | 'transfer'
  | 'membership'
  | 'quiet'

/** Fault profiles of the peer world (the Raft-loop simulator has its own). */
export const PEER_PROFILES: Record<
  string,
  { weights: Partial<Record<Action, number>>; gap: [number, number] }
> = {
  mixed: {
    weights: { partition: 3, crash: 1, crashLeader: 1, stall: 1, transfer: 1, membership: 1, quiet: 1 },
    gap: [40, 400],
  },
  // Paused processes and frozen tabs: timers stop for several election timeouts, clocks run on.
  stalls: { weights: { stall: 2, stallLeader: 3, partition: 1, quiet: 1 }, gap: [50, 300] },
  // Leaders die right after a durable write, before sending it; others churn.
  persistCrash: { weights: { crashLeader: 2, partition: 1, quiet: 3 }, gap: [50, 300] },
  // Members come and go through the API (single-member changes) while peers crash and links cut.
  reconfig: { weights: { membership: 4, partition: 1, crash: 1, crashLeader: 1, quiet: 1 }, gap: [60, 300] },
  // Leaders crash and come back quickly, fresh ones often within milliseconds: Raft's Figure 8.
  leaderChurn: { weights: { crashLeader: 5, partition: 2, crash: 1, quiet: 1 }, gap: [20, 150] },
  // The leader is cut off with a minority while clients keep reading from it.
  leaderMinority: { weights: { isolateLeader: 3, transfer: 1, crash: 1, quiet: 1 }, gap: [60, 400] },
}

/** Chance, per durable Ready of a leader, of a crash right after it is durable and before any send. */
const PERSIST_CRASH: Record<string, number> = { persistCrash: 0.3, leaderChurn: 0.15, mixed: 0.03 }
/** Chance, per Ready of any peer, of a crash while its write is in flight (power loss mid-sync). */
const MID_WRITE_CRASH: Record<string, number> = { persistCrash: 0.02, mixed: 0.005 }

function pickWeighted<T extends string>(rng: Rng, weights: Partial<Record<T, number>>): T {
  const entries = Object.entries(weights) as [T, number][]
  let r = rng.next() * entries.reduce((n, [, w]) => n + w, 0)
  for (const [k, w] of entries) {
    r -= w
    if (r < 0) return k
  }
  return entries[entries.length - 1][0]
}

/** Schedules a random fault profile over [0, faultMs); returns its name. */
export function schedulePeerFaults(world: PeerWorld, rng: Rng, faultMs: number, pinned?: string): string {
  const name = pinned ?? rng.pick(Object.keys(PEER_PROFILES))
  const profile = PEER_PROFILES[name]
  if (!profile) throw new Error(`unknown fault profile ${name}`)
  const ids = [...world.peers.keys()]
  const electionMs = world.opts.tickMs * world.opts.electionTicks
  world.net.faults = {
    drop: rng.chance(0.5) ? rng.next() * 0.1 : 0,
    duplicate: rng.chance(0.5) ? rng.next() * 0.05 : 0,
    minDelay: 0.5,
    maxDelay: rng.pick([2, 5, 15, 40]),
  }
  const persistCrash = PERSIST_CRASH[name] ?? 0
  if (persistCrash > 0) {
    world.crashAfterPersist = (p: WorldPeer, rd: Ready) => {
      if (world.now >= faultMs || p.driver?.node.raft.role !== 'leader') return false
      if (!rd.hardState && rd.entries.length === 0) return false
      if (!rng.chance(persistCrash)) return false
      restartLater(world, p, rng.int(10, 150))
      return true
    }
  }
  if (name === 'leaderChurn') {
    world.onNewLeader = (p: WorldPeer) => {
      if (world.now >= faultMs || !rng.chance(0.5)) return
      const at = world.now + rng.next() * 8
      const gen = p.gen
      world.at(at, () => {
        if (p.gen === gen) crashFor(world, p, Math.max(1, Math.min(rng.int(10, 150), faultMs - at)))
      })
    }
  }
  const midWrite = MID_WRITE_CRASH[name] ?? 0
  if (midWrite > 0) {
    world.crashBeforePersist = (p: WorldPeer, rd: Ready) => {
      if (world.now >= faultMs || (!rd.hardState && rd.entries.length === 0)) return false
      if (!rng.chance(midWrite)) return false
      restartLater(world, p, rng.int(5, 100))
      return true
    }
  }
  let t = rng.int(100, 300)
  while (t < faultMs) {
    const when = t
    const action = pickWeighted(rng, profile.weights)
    const duration = rng.int(50, 600)
    world.at(when, () => {
      const down = Math.max(1, Math.min(duration, faultMs - when))
      const leader = world.leader()
      const any = rng.pick([...world.peers.values()])
      switch (action) {
        case 'partition':
          partition(world, rng, ids, duration)
          break
        case 'crash':
          crashFor(world, any, down)
          break
        case 'crashLeader':
          if (leader) crashFor(world, leader, Math.min(rng.int(5, 120), down))
          break
        case 'stall':
          world.stall(any, electionMs * (1 + rng.next() * 4))
          break
        case 'stallLeader':
          if (leader) world.stall(leader, electionMs * (2 + rng.next() * 4))
          break
        case 'isolateLeader':
          if (leader) isolateWithMinority(world, rng, ids, leader, duration)
          break
        case 'transfer':
          if (leader?.peer) {
            const to = rng.pick(ids.filter((id) => id !== leader.id))
            world.trace(`transfer leadership ${leader.id} -> ${to}`)
            leader.peer.transferLeadership(to, { timeoutMs: 300 }).catch(() => {})
          }
          break
        case 'membership':
          if (leader) changeMembership(world, rng, leader)
          break
        case 'quiet':
          break
      }
    })
    t += rng.int(profile.gap[0], profile.gap[1])
  }
  return name
}

/** Faults stop: links heal, stalls end, crashed peers restart. */
export function healAll(world: PeerWorld): void {
  world.trace('faults stop: network heals, crashed peers restart')
  world.net.blocked.clear()
  world.net.faults = CALM
  world.crashAfterPersist = null
  world.crashBeforePersist = null
  world.onNewLeader = null
  for (const p of world.peers.values()) if (!p.peer) world.start(p)
}

function restartLater(world: PeerWorld, p: WorldPeer, ms: number): void {
  const gen = p.gen + 1
  world.at(world.now + ms, () => {
    if (p.gen === gen && !p.peer) world.start(p)
  })
}

function crashFor(world: PeerWorld, p: WorldPeer, ms: number): void {
  if (!p.peer) return
  world.crash(p)
  restartLater(world, p, ms)
}

function cut(world: PeerWorld, links: string[], duration: number, what: string): void {
  for (const l of links) world.net.blocked.add(l)
  world.trace(`${what} for ${duration} ms`)
  world.at(world.now + duration, () => {
    for (const l of links) world.net.blocked.delete(l)
  })
}

function partition(world: PeerWorld, rng: Rng, ids: string[], duration: number): void {
  const side = new Set(ids.filter(() => rng.chance(0.4)))
  if (side.size === 0 || side.size === ids.length) return
  const oneWay = rng.chance(0.3)
  const links: string[] = []
  for (const a of side)
    for (const b of ids) {
      if (side.has(b)) continue
      links.push(`${a}>${b}`)
      if (!oneWay) links.push(`${b}>${a}`)
    }
  cut(world, links, duration, `partition ${oneWay ? 'one-way from' : 'of'} {${[...side].join(',')}}`)
}

/** The leader keeps a minority of followers (clients still reach it); the majority moves on. */
function isolateWithMinority(
  world: PeerWorld,
  rng: Rng,
  ids: string[],
  leader: WorldPeer,
  duration: number,
): void {
  const others = ids.filter((id) => id !== leader.id)
  const keep = Math.max(0, Math.ceil(ids.length / 2) - 2)
  const side = new Set([leader.id, ...others.filter(() => rng.chance(0.5)).slice(0, keep)])
  const links: string[] = []
  for (const a of side) for (const b of ids) if (!side.has(b)) links.push(`${a}>${b}`, `${b}>${a}`)
  cut(world, links, duration, `leader ${leader.id} isolated with {${[...side].join(',')}}`)
}

/** Adds, promotes, demotes or removes one member through the leader's API, keeping each peer's role. */
function changeMembership(world: PeerWorld, rng: Rng, leader: WorldPeer): void {
  const conf = leader.driver?.node.raft.conf
  if (!leader.peer || !conf || conf.outgoing.length > 0) return
  const voters = conf.voters
  const options: { id: string; as: 'voter' | 'learner' | 'witness' | 'remove' }[] = []
  for (const p of world.peers.values()) {
    const isVoter = voters.includes(p.id)
    if (p.role === 'witness') options.push({ id: p.id, as: isVoter ? 'remove' : 'witness' })
    else if (isVoter) {
      if (voters.length > 2) options.push({ id: p.id, as: 'remove' })
      options.push({ id: p.id, as: 'learner' })
    } else if (conf.learners.includes(p.id))
      options.push({ id: p.id, as: 'voter' }, { id: p.id, as: 'remove' })
    else options.push({ id: p.id, as: 'learner' }, { id: p.id, as: 'voter' })
  }
  if (options.length === 0) return
  const { id, as } = rng.pick(options)
  world.trace(`membership at ${leader.id}: ${as} ${id}`)
  const change = as === 'remove' ? leader.peer.removeMember(id) : leader.peer.addMember(id, { as })
  change.then(
    () => world.trace(`membership ${as} ${id} done`),
    (err) => world.trace(`membership ${as} ${id} failed: ${(err as { code?: string }).code}`),
  )
}
