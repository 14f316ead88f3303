import { allVoters } from '../raft/confchange.js'
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
