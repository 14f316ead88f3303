import { allVoters, type ConfChangeItem, isJoint } from '../raft/confchange.js'
import { MessageType } from '../raft/messages.js'
import { cut } from './fault-actions.js'
import type { FaultPeer, FaultWorld } from './fault-world.js'
import type { Rng } from './rng.js'

/**
 * Swaps one or two data voters for as many data peers outside the voters in one joint
 * configuration (through changeMembers where the world has it). Often the leaving voters are cut
 * off, half the time with enough staying ones that the cut side is a majority of the old voters
 * while the leader keeps a majority of the new: only the old half's missing majority stops it.
 */
export function swapVoters<P extends FaultPeer>(
  cluster: FaultWorld<P>,
  rng: Rng,
  ids: string[],
  cutMs: number,
): void {
  const leader = cluster.leader()
  const conf = leader?.node?.raft.conf
  if (!leader || !conf || conf.outgoing.length > 0) return
  const dataVoters = conf.voters.filter((id) => !conf.witnesses.includes(id))
  const outside = [...cluster.peers.values()].filter((p) => p.kind === 'data' && !conf.voters.includes(p.id))
  const n = Math.min(rng.int(1, 2), outside.length, dataVoters.length - 1)
  if (n < 1) return
  const remove = rng.shuffle(dataVoters).slice(0, n)
  const add = rng
    .shuffle(outside)
    .slice(0, n)
    .map((p) => p.id)
  cluster.trace(`joint change at ${leader.id}: +${add.join('+')} -${remove.join('-')}`)
  if (cluster.changeMembers) cluster.changeMembers(leader, add, remove)
  else if (
    !cluster.proposeConfChange(leader, [
      ...add.map((id) => ({ type: 'voter' as const, id })),
      ...remove.map((id) => ({ type: 'remove' as const, id })),
    ])
  )
    return
  if (!rng.chance(0.7)) return
  const side = new Set(remove.filter((id) => id !== leader.id))
  const incoming = [...conf.voters.filter((id) => !remove.includes(id)), ...add]
  const oldMajority = Math.floor(allVoters(conf).length / 2) + 1
  const newMajority = Math.floor(incoming.length / 2) + 1
  if (rng.chance(0.5))
    for (const id of rng.shuffle(conf.voters.filter((v) => v !== leader.id && !side.has(v))))
      if (side.size < oldMajority && incoming.filter((v) => !side.has(v)).length - 1 >= newMajority)
        side.add(id)
  if (side.size === 0) return
  cluster.at(cluster.now + rng.next() * 10, () => cut(cluster, side, ids, false, cutMs))
}

/**
 * Swaps out the voter ranked highest by election priority while a lower-ranked one leads, and
 * holds the joint configuration open past that leader's first election timeout: its priority
 * handover then runs with the top-ranked peer caught up but outgoing. If the top-ranked voter
 * leads, leadership first moves to a lower-ranked one. The leader's appends are late to enough
 * incoming voters that the incoming half has no majority without them while the outgoing half
 * has one: the change enters at once, the leave waits (heartbeats stay fast: no one times out).
 * With no single top-ranked voter, the best-ranked spare is swapped in for a bottom-ranked voter.
 */
export function swapOutPreferred<P extends FaultPeer>(cluster: FaultWorld<P>, rng: Rng): void {
  const leader = cluster.leader()
  const conf = leader?.node?.raft.conf
  if (!leader || !conf || isJoint(conf)) return
  const rank = (id: string) => cluster.peers.get(id)?.priority ?? 1
  const dataVoters = conf.voters.filter((id) => !conf.witnesses.includes(id))
  const spares = [...cluster.peers.values()].filter((p) => p.kind === 'data' && !conf.voters.includes(p.id))
  if (spares.length === 0 || dataVoters.length < 2) return
  const top = Math.max(...dataVoters.map(rank))
  const ranked = dataVoters.filter((id) => rank(id) === top)
  const lower = dataVoters.filter((id) => rank(id) < top)
  if (ranked.length !== 1 || lower.length === 0) {
    const bottom = Math.min(...dataVoters.map(rank))
    const out = rng.pick(dataVoters.filter((id) => id !== leader.id && rank(id) === bottom))
    const best = Math.max(...spares.map((p) => p.priority))
    const into = rng.pick(spares.filter((p) => p.priority === best)).id
    if (out === undefined || !cluster.proposeConfChange(leader, swap(into, out))) return
    cluster.trace(`joint change at ${leader.id}: +${into} -${out} (ranks the voters again)`)
    return
  }
  const preferred = ranked[0]
  const next = preferred === leader.id ? rng.pick(lower) : leader.id
  const spare = rng.pick(spares).id
  if (next !== leader.id) {
    cluster.trace(`transfer leadership ${leader.id} -> ${next}`)
    cluster.transferLeadership(leader, next)
  }
  const { tickMs, electionTick } = cluster.timing
  const electionMs = tickMs * electionTick
  const giveUpAt = cluster.now + electionMs
  const whenLeading = () => {
    const p = cluster.peers.get(next)!
    const c = p.node?.raft.conf
    if (cluster.leader() !== p || !c || isJoint(c)) {
      if (cluster.now < giveUpAt) cluster.at(cluster.now + 2, whenLeading)
      return
    }
    if (!cluster.proposeConfChange(p, swap(spare, preferred))) return
    // Fast: the leader, the preferred peer and as many other voters as make an outgoing majority.
    const majority = Math.floor(c.voters.length / 2) + 1
    const others = rng.shuffle(c.voters.filter((id) => id !== next && id !== preferred))
    const fast = new Set([next, preferred, ...others.slice(0, majority - 2)])
    const late = [...others.filter((id) => !fast.has(id)), spare]
    const hold = electionMs * (1.3 + rng.next())
    for (const to of late)
      cluster.delays.push({
        from: next,
        to,
        type: MessageType.App,
        until: cluster.now + hold / 2,
        min: hold,
        max: hold,
      })
    cluster.trace(
      `preferred ${preferred} swapped out for ${spare} at ${next}; appends to {${late.join(',')}} late by ${hold.toFixed(0)} ms`,
    )
  }
  whenLeading()
}

const swap = (add: string, remove: string): ConfChangeItem[] => [
  { type: 'voter', id: add },
  { type: 'remove', id: remove },
]
