import type { MemberKind, Peer } from '@flotilla/core'
import type { Libp2p } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Logger } from 'pino'
import { splitPeerAddr } from './address-book.js'
import { ADMIN_PROTOCOL } from './admin.js'
import { request } from './request.js'

type Answer = { ok: true; index?: number } | { ok: false; error: { code: string; message: string } }

export interface JoinOptions {
  node: Libp2p
  peer: Peer
  /** Any member's multiaddr; it passes the request to the leader. */
  seed: Multiaddr
  as: MemberKind
  token: string | undefined
  log: Logger
}

/**
 * Asks the group, through `seed`, to add this peer, and retries (1 s apart) until it is a
 * member: the seed may be restarting or the group between leaders.
 */
export function joinGroup({ node, peer, seed, as, token, log }: JoinOptions): { stop(): void } {
  let stopped = false
  const self = node.peerId.toString()
  // Done once this peer is a member of the kind it asked for (a voter is a learner first).
  const isMember = () => peer.status().members.some((m) => m.id === self && m.kind === as)
  void (async () => {
    while (!stopped && !isMember()) {
      try {
        const addrs = node.getMultiaddrs().map((a) => splitPeerAddr(a.toString()).addr)
        const body = { op: 'add', id: self, as, addrs, ...(token ? { token } : {}) }
        const answer = await request<Answer>(node, seed, ADMIN_PROTOCOL, body, 45_000)
        if (answer.ok)
          log.info({ event: 'joined', via: seed.toString(), index: answer.index, as }, 'added to the group')
        else log.warn({ event: 'join', via: seed.toString(), error: answer.error }, 'join refused; retrying')
      } catch (err) {
        log.warn(
          { event: 'join', via: seed.toString(), err: (err as Error).message },
          'join failed; retrying',
        )
      }
      await new Promise((r) => setTimeout(r, 1000))
    }
  })()
  return {
    stop() {
      stopped = true
    },
  }
}
