import { type Peer, PeerError } from '@flotilla/core'
import type { Libp2p } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import type { EventLog } from '../event-log.js'
import type { DemoConfig } from './rendezvous.js'
import { request, serve } from './rpc-stream.js'
import { short } from './tab-peer.js'

export const JOIN_PROTOCOL = '/flotilla-demo/join/1.0.0'

type JoinAnswer = { ok: true; index: number } | { ok: false; leader: string | null; error?: string }

/** Every tab answers join requests: the leader adds the tab as a voter, others name the leader. */
export async function serveJoins(node: Libp2p, peer: Peer, log: EventLog): Promise<void> {
  await serve(node, JOIN_PROTOCOL, async (_body, from): Promise<JoinAnswer> => {
    const status = peer.status()
    if (status.members.some((m) => m.id === from && m.kind === 'voter'))
      return { ok: true, index: status.commit }
    if (status.raftRole !== 'leader') return { ok: false, leader: status.leader }
    try {
      log.add('group', `adding ${short(from)} (it joins as a learner, then votes)`)
      const { index } = await peer.addMember(from, { as: 'voter', timeoutMs: 20_000 })
      return { ok: true, index }
    } catch (err) {
      const leader = err instanceof PeerError ? (err.leader ?? null) : null
      return { ok: false, leader, error: (err as Error).message }
    }
  })
}

/**
 * A tab with empty storage asks to join: first the leader it heard of, else the tabs the
 * rendezvous knows (newest first), each of which answers or names the leader. It retries
 * until some leader added it.
 */
export async function joinGroup(
  node: Libp2p,
  peer: Peer,
  config: DemoConfig,
  candidates: string[],
  log: EventLog,
): Promise<void> {
  let leader: string | null = null
  for (let round = 0; ; round++) {
    const order: string[] = [
      ...new Set([leader, ...candidates].filter((c): c is string => !!c && c !== peer.id)),
    ]
    for (const to of order) {
      const answer: JoinAnswer | null = await ask(node, config, to)
      if (answer?.ok) {
        log.add('group', `joined the group through ${short(to)} at index ${answer.index}`)
        return
      }
      if (answer?.leader && answer.leader !== to) {
        leader = answer.leader
        break
      }
    }
    if (round > 0 && round % 10 === 0) log.add('group', 'still looking for a leader to join through')
    await new Promise((r) => setTimeout(r, 500))
  }
}

async function ask(node: Libp2p, config: DemoConfig, to: string): Promise<JoinAnswer | null> {
  if (config.nodeAddrs[to]) return null // Node peers take no join requests; tabs do
  try {
    return await request<JoinAnswer>(
      node,
      multiaddr(`${config.relay}/p2p-circuit/webrtc/p2p/${to}`),
      JOIN_PROTOCOL,
      {},
      25_000,
    )
  } catch {
    return null
  }
}
