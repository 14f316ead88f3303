import { allMembers } from '../raft/confchange.js'
import { stateDigest } from '../state/digest.js'
import type { PeerWorld, WorldPeer } from './peer-world.js'
import { CALM } from './sim-network.js'

/** Faults stop: links heal, delays and slowness end, crashed peers restart. */
export function healWorld(world: PeerWorld): void {
  world.trace('faults stop: network heals, crashed peers restart')
  world.blocked.clear()
  world.delays = []
  world.net = CALM
  world.crashAfterPersist = null
  world.crashBeforePersist = null
  world.onNewLeader = null
  world.onOldTermCommit = null
  for (const p of world.peers.values()) {
    p.slow = 0
    p.applyDelay = 0
    if (!world.isUp(p)) world.start(p)
  }
}

/** The leader's members that hold data (not witnesses). */
function dataMembers(world: PeerWorld, leader: WorldPeer): WorldPeer[] {
  const raft = leader.node!.raft
  return allMembers(raft.conf)
    .map((id) => world.peers.get(id))
    .filter((p): p is WorldPeer => p !== undefined && p.kind === 'data')
}

/** Every member has the leader's commit index, none is being sent a snapshot, replicas applied it. */
function settled(world: PeerWorld): boolean {
  const leader = world.leader()
  const raft = leader?.node?.raft
  if (!leader || !raft) return false
  const commit = raft.log.committed
  for (const id of allMembers(raft.conf)) {
    const p = world.peers.get(id)
    if (!p?.node || p.node.raft.log.committed < commit) return false
    if (id !== raft.id && raft.progress.get(id)?.state === 'snapshot') return false
  }
  return dataMembers(world, leader).every((p) => (p.driver?.sm?.lastApplied ?? -1) >= commit)
}

/** Runs until the group has settled, for at most `ms`. */
export async function settle(world: PeerWorld, ms: number): Promise<void> {
  await world.run(world.now + ms, () => settled(world))
}

/**
 * Once settled: every data member has applied what the leader has, and replicas that applied
 * the same index hold the same state (collections, vectors, metadata, sessions).
 */
export function checkReplicasAgree(world: PeerWorld): string[] {
  const leader = world.leader()
  const sm = leader?.driver?.sm
  if (!leader || !sm) return []
  const out: string[] = []
  const digests = new Map<number, { id: string; digest: string }>()
  for (const p of dataMembers(world, leader)) {
    const replica = p.driver?.sm
    if (!replica) continue
    if (replica.lastApplied < sm.lastApplied)
      out.push(`settled: ${p.id} applied ${replica.lastApplied}, leader ${leader.id} ${sm.lastApplied}`)
    let digest: string
    try {
      digest = stateDigest(replica)
    } catch (err) {
      out.push(`replicas: ${p.id}'s state machine failed: ${(err as Error).message}`)
      continue
    }
    const other = digests.get(replica.lastApplied)
    if (!other) digests.set(replica.lastApplied, { id: p.id, digest })
    else if (other.digest !== digest)
      out.push(
        `replicas: ${p.id} and ${other.id} both applied ${replica.lastApplied} but hold different states`,
      )
  }
  return out
}
