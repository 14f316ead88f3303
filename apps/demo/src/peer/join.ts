import type { Peer } from '@flotilla/core'
import type { EventLog } from '../event-log.js'
import { type DemoConfig, rendezvous } from './rendezvous.js'
import { short } from './tab-peer.js'

const ASK_EVERY_MS = 1000

/**
 * How a tab joins without ever connecting to a member first: member tabs refuse non-members at
 * the connection (see the README, "Who may connect"), so the joiner tells the rendezvous it
 * waits, and the leader tab reads that list and adds it. The joiner's own gate is open until it
 * learns its first configuration, so the leader (and then the others) can reach it.
 */
export function admitJoiners(peer: Peer, config: DemoConfig, log: EventLog): () => void {
  let adding = false
  const check = async () => {
    const status = peer.status()
    if (adding || status.state !== 'running' || status.raftRole !== 'leader') return
    adding = true
    try {
      const { ids } = await rendezvous.joiners()
      const voters = new Set(status.members.filter((m) => m.kind === 'voter').map((m) => m.id))
      // One at a time: Raft takes one membership change at a time.
      const next = ids.find((id) => id !== peer.id && !voters.has(id) && !config.nodeAddrs[id])
      if (!next) return
      log.add('group', `adding ${short(next)} (it joins as a learner, then votes)`)
      await peer.addMember(next, { as: 'voter', timeoutMs: 20_000 })
    } catch (err) {
      log.add('error', `could not add a waiting tab: ${(err as Error).message}`)
    } finally {
      adding = false
    }
  }
  const timer = setInterval(() => void check(), ASK_EVERY_MS)
  return () => clearInterval(timer)
}

/**
 * A tab with empty storage waits to be added: it tells the rendezvous every second until its
 * own configuration names it a voter (a learner first, while it catches up).
 */
export async function joinGroup(peer: Peer, log: EventLog): Promise<void> {
  const voter = () => peer.status().members.some((m) => m.id === peer.id && m.kind === 'voter')
  log.add('group', 'waiting for the leader to add this tab')
  for (let round = 1; !voter(); round++) {
    if (peer.status().state !== 'running') throw new Error('the peer stopped before it joined')
    await rendezvous.wait(peer.id).catch(() => {})
    if (round % 10 === 0) log.add('group', 'still waiting to be added')
    await new Promise((r) => setTimeout(r, ASK_EVERY_MS))
  }
  const { members } = peer.status()
  log.add('group', `joined the group (${members.length} members)`)
}
