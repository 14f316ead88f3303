import { MemoryStorage, openPeer, type Peer } from '@flotilla/core'
import { createLibp2pTransport, nodePeer } from '@flotilla/transport-libp2p/node'
import { createLibp2p, type Libp2p } from 'libp2p'

/**
 * Node peers in this process, founding a group over libp2p WebSockets on 127.0.0.1, for tests
 * whose subject is a peer elsewhere (workerd, Deno). `members` is the set every peer here
 * accepts Raft frames from: add an outside peer's id to it before the leader adds that peer.
 */
export interface NodeGroup {
  peers: Peer[]
  nodes: Libp2p[]
  members: Set<string>
  contacts(): { id: string; addrs: string[] }[]
  leader(timeoutMs?: number): Promise<Peer>
  close(): Promise<void>
}

export async function startNodeGroup(size: number): Promise<NodeGroup> {
  const members = new Set<string>()
  const nodes = await Promise.all(
    Array.from({ length: size }, () =>
      createLibp2p(
        nodePeer({ host: '127.0.0.1', tcpPort: false, wsPort: 0, quicPort: false, webrtcDirectPort: false }),
      ),
    ),
  )
  for (const n of nodes) members.add(n.peerId.toString())
  for (const a of nodes)
    for (const b of nodes) if (a !== b) await a.peerStore.merge(b.peerId, { multiaddrs: b.getMultiaddrs() })
  const transports = await Promise.all(
    nodes.map((n) => createLibp2pTransport(n, { isMember: (id) => members.has(id) })),
  )
  const voters = [...members]
  const peers = await Promise.all(
    transports.map((transport) =>
      openPeer({ id: transport.localId, storage: new MemoryStorage(), transport, bootstrap: { voters } }),
    ),
  )
  return {
    peers,
    nodes,
    members,
    contacts: () => nodes.map((n) => ({ id: n.peerId.toString(), addrs: n.getMultiaddrs().map(String) })),
    async leader(timeoutMs = 20_000) {
      const until = Date.now() + timeoutMs
      while (Date.now() < until) {
        const leader = peers.find((p) => p.status().raftRole === 'leader')
        if (leader) return leader
        await new Promise((r) => setTimeout(r, 50))
      }
      throw new Error(`no leader among ${size} Node peers within ${timeoutMs} ms`)
    },
    async close() {
      await Promise.allSettled(peers.map((p) => p.close()))
      await Promise.allSettled(transports.map((t) => t.close()))
      await Promise.allSettled(nodes.map((n) => n.stop()))
    },
  }
}
