import { MemoryStorage, openPeer, type Peer } from '@flotilla/core'
import { createLibp2pTransport, nodePeer } from '@flotilla/transport-libp2p/node'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p, type Libp2p } from 'libp2p'

export interface Contact {
  id: string
  addrs: string[]
}

export interface NodeGroupOptions {
  /** Founding voters outside this process (same order on every founder). */
  extraVoters?: string[]
  witnesses?: string[]
  /** Election priority of the Node peers (others: 1); passed to every founder alike. */
  nodePriority?: number
  /**
   * Called once the Node peers listen, before they open: starts the outside peers with these
   * contacts and returns theirs, which the Node peers then know and accept frames from.
   */
  beforeOpen?: (contacts: Contact[]) => Promise<Contact[]>
}

/**
 * Node peers in this process, founding a group over libp2p (TCP and WebSockets on 127.0.0.1),
 * for tests whose subject is a peer elsewhere (workerd, Deno). `members` is the set every peer
 * here accepts Raft frames from: add an outside peer's id before the leader adds that peer.
 */
export interface NodeGroup {
  peers: Peer[]
  nodes: Libp2p[]
  members: Set<string>
  contacts(): Contact[]
  /** The current leader's id, as the Node peers see it (any member may be the leader). */
  leaderId(timeoutMs?: number): Promise<string>
  /** Adds a member through whichever Node peer leads, retrying across a change of leader. */
  addMember(id: string, as: 'voter' | 'learner' | 'witness', timeoutMs?: number): Promise<void>
  close(): Promise<void>
}

export async function startNodeGroup(size: number, options: NodeGroupOptions = {}): Promise<NodeGroup> {
  const members = new Set<string>()
  const nodes = await Promise.all(
    Array.from({ length: size }, () =>
      createLibp2p(
        nodePeer({ host: '127.0.0.1', tcpPort: 0, wsPort: 0, quicPort: false, webrtcDirectPort: false }),
      ),
    ),
  )
  const nodeIds = nodes.map((n) => n.peerId.toString())
  for (const id of nodeIds) members.add(id)
  const contacts = () => nodes.map((n) => ({ id: n.peerId.toString(), addrs: n.getMultiaddrs().map(String) }))
  const outside = (await options.beforeOpen?.(contacts())) ?? []
  for (const c of outside) members.add(c.id)
  for (const a of nodes) {
    for (const c of [...contacts(), ...outside]) {
      if (c.id !== a.peerId.toString())
        await a.peerStore.merge(peerIdFromString(c.id), { multiaddrs: c.addrs.map((x) => multiaddr(x)) })
    }
  }
  const transports = await Promise.all(
    nodes.map((n) => createLibp2pTransport(n, { isMember: (id) => members.has(id) })),
  )
  const bootstrap = {
    voters: [...nodeIds, ...(options.extraVoters ?? [])],
    witnesses: options.witnesses ?? [],
  }
  const priority = options.nodePriority ?? 1
  const peers = await Promise.all(
    transports.map((transport) =>
      openPeer({
        id: transport.localId,
        storage: new MemoryStorage(),
        transport,
        bootstrap,
        raft: { priorityOf: (id) => (nodeIds.includes(id) ? priority : 1) },
      }),
    ),
  )
  return {
    peers,
    nodes,
    members,
    contacts,
    async leaderId(timeoutMs = 20_000) {
      const until = Date.now() + timeoutMs
      while (Date.now() < until) {
        const open = peers.filter((p) => p.status().state === 'running')
        const leader = open.find((p) => p.status().leader)?.status().leader
        if (leader) return leader
        await new Promise((r) => setTimeout(r, 50))
      }
      throw new Error(`no leader seen by the Node peers within ${timeoutMs} ms`)
    },
    async addMember(id, as, timeoutMs = 20_000) {
      const until = Date.now() + timeoutMs
      for (;;) {
        const leader = peers.find((p) => p.status().state === 'running' && p.status().raftRole === 'leader')
        try {
          if (leader) return void (await leader.addMember(id, { as }))
        } catch (err) {
          if ((err as { code?: string }).code !== 'ERR_NOT_LEADER' || Date.now() > until) throw err
        }
        if (Date.now() > until) throw new Error(`no Node leader to add ${id} within ${timeoutMs} ms`)
        await new Promise((r) => setTimeout(r, 50))
      }
    },
    async close() {
      await Promise.allSettled(peers.map((p) => p.close()))
      await Promise.allSettled(transports.map((t) => t.close()))
      await Promise.allSettled(nodes.map((n) => n.stop()))
    },
  }
}
