import type { Peer, PeerStatus } from '@flotilla/core'
import type { Libp2p } from '@libp2p/interface'
import type { DemoConfig } from './rendezvous.js'
import { request, serve } from './rpc-stream.js'
import { webrtcAddr } from './tab-peer.js'

export const STATUS_PROTOCOL = '/flotilla-demo/status/1.0.0'
const REFRESH_MS = 1000

/** Every tab answers with its status, so followers can show the leader's view of each member's lag. */
export function serveStatus(node: Libp2p, peer: Peer): Promise<void> {
  return serve(node, STATUS_PROTOCOL, async () => peer.status())
}

/** The leader's status: this peer's own when it leads, else fetched from the leader tab (cached 1 s). */
export function leaderView(node: Libp2p, peer: Peer, config: DemoConfig): () => Promise<PeerStatus | null> {
  let cached: { at: number; leader: string; status: PeerStatus } | null = null
  let inflight: Promise<void> | null = null
  return async () => {
    const self = peer.status()
    if (self.raftRole === 'leader') return self
    const leader = self.leader
    if (!leader || config.nodeAddrs[leader]) return null
    if ((!cached || cached.leader !== leader || performance.now() - cached.at > REFRESH_MS) && !inflight) {
      inflight = request<PeerStatus>(node, webrtcAddr(config, leader), STATUS_PROTOCOL, {}, 3000)
        .then((status) => {
          cached = { at: performance.now(), leader, status }
        })
        .catch(() => {})
        .finally(() => {
          inflight = null
        })
    }
    return cached?.leader === leader ? cached.status : null
  }
}
