import type { DriverObserver } from '../peer/driver.js'
import type { RawNode } from '../raft/raw-node.js'
import type { PeerWorld, WorldPeer } from './peer-world.js'

/**
 * The hooks a world peer's driver calls: Raft's safety is checked at every Ready, persist, apply
 * and advance; crash points and the watches (leases, membership) run from here. `gen` is the run
 * the driver belongs to: a halted run's late callbacks change nothing.
 */
export function observerFor(world: PeerWorld, p: WorldPeer, gen: number): DriverObserver {
  let checkedCommit = 0
  /** The commit index when this run began leading its current term. */
  let lead = { term: 0, commit: 0 }
  /** Each Ready's entries wait here until durable: an entry lost in a crash never existed. */
  const produced = new WeakMap<object, (number | undefined)[]>()
  const leaderCheck = (node: RawNode) => {
    if (node.raft.role !== 'leader') return
    if (lead.term !== node.raft.term) lead = { term: node.raft.term, commit: node.raft.log.committed }
    world.safety.onLeader(p.id, node)
    if (p.gen === gen) for (const check of world.afterLeaderStep) check(p)
    const key = `${p.id}@${node.raft.term}`
    if (key !== world.lastLeader) {
      world.lastLeader = key
      world.trace(`${p.id} leads term ${node.raft.term}`)
      if (p.gen === gen) world.onNewLeader?.(p)
    }
  }
  return {
    ready: (rd, node) => {
      if (p.gen === gen) p.readyInFlight = true
      produced.set(rd, world.safety.prevTerms(node, rd.entries))
      world.handovers.onReady(p.id, node.raft, rd.messages)
      leaderCheck(node)
      // Moved past where this leadership began, onto an entry of an earlier term: counted.
      const commit = rd.hardState?.commit ?? 0
      if (p.gen === gen && node.raft.role === 'leader' && commit > lead.commit) {
        const term = node.raft.log.termOrUndefined(commit)
        if (term !== undefined && term < node.raft.term) world.onOldTermCommit?.(p)
      }
      if (p.gen === gen && world.crashBeforePersist?.(p, rd)) {
        // Runs before the save completes (every sync takes longer than 0 ms): the write is lost.
        world.trace(`${p.id} crashes while writing a Ready`)
        world.at(world.now, () => {
          if (p.gen === gen) world.crash(p)
        })
      }
    },
    persisted: (rd, node) => {
      world.safety.onAppend(p.id, node, rd.entries, produced.get(rd))
      if (p.gen !== gen || !world.crashAfterPersist?.(p, rd)) return false
      world.trace(`${p.id} crashes after a durable write, before sending it`)
      world.at(world.now, () => {
        if (p.gen === gen) world.crash(p)
      })
      return true
    },
    applied: (entry, result) => {
      world.safety.onApply(p.id, entry.index, entry.data)
      world.onApplied?.(p, entry, result)
    },
    advanced: (node) => {
      if (p.gen === gen) p.readyInFlight = false
      world.handovers.onAdvanced(p.id, node.raft)
      leaderCheck(node)
      const commit = node.raft.log.committed
      if (commit > checkedCommit) {
        world.trace(`${p.id} commits ${commit} (term ${node.raft.term})`)
        world.safety.onCommit(p.id, node, checkedCommit + 1, commit)
        checkedCommit = commit
      }
      if (p.gen === gen && p.driver) for (const check of world.afterReady) check(p)
    },
  }
}
