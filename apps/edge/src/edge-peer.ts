import './workerd-shims.js'
import { openPeer, type Peer, type PeerOptions } from '@flotilla/core'
import {
  browserPeer,
  createLibp2pTransport,
  type KeyStore,
  type Libp2pTransport,
  loadOrCreateIdentity,
} from '@flotilla/transport-libp2p/browser'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p, type Libp2p } from 'libp2p'
import { type DurableObjectStorageLike, openDurableObjectStorage } from './do-storage.js'

export interface GroupContact {
  /** The member's PeerId (its Raft id). */
  id: string
  /** Where it listens; the Durable Object dials out only, over WebSockets. */
  addrs: string[]
}

export interface EdgePeerOptions {
  /** Members to reach (at least one: the group's Node peers, or a relay in front of them). */
  contacts: GroupContact[]
  /** Compiled usearch.wasm (workerd imports it as a module and refuses to compile bytes). */
  wasm: object
  /** `data` (a learner read replica once the leader adds it) or `witness`. */
  role?: PeerOptions['role']
  /** Tests and local development only: ws:// and loopback dials (see browserPeer). */
  allowInsecureLocalDials?: boolean
  raft?: PeerOptions['raft']
}

export interface EdgePeer {
  id: string
  peer: Peer
  node: Libp2p
  transport: Libp2pTransport
  close(): Promise<void>
}

/**
 * A peer inside a Durable Object: Raft state in the object's SQLite storage, identity there too
 * (one PeerId per object, kept across restarts), libp2p in its browser-style configuration
 * dialling out over WebSockets. It founds nothing: a leader adds it as a learner or witness.
 */
export async function openEdgePeer(
  storage: DurableObjectStorageLike,
  options: EdgePeerOptions,
): Promise<EdgePeer> {
  const raftStorage = await openDurableObjectStorage(storage)
  const privateKey = await loadOrCreateIdentity(durableObjectKeyStore(storage))
  const node = await createLibp2p(
    browserPeer({ privateKey, iceServers: [], allowInsecureLocalDials: options.allowInsecureLocalDials }),
  )
  const known = new Set(options.contacts.map((c) => c.id))
  const transport = await createLibp2pTransport(node, {
    // Raft from the contacts and from whoever they are connected through; membership is the
    // leader's to decide, and a stranger's frames never reach Raft.
    isMember: (id) => known.has(id),
  })
  for (const contact of options.contacts) {
    await node.peerStore.merge(peerIdFromString(contact.id), {
      multiaddrs: contact.addrs.map((a) => multiaddr(a)),
    })
  }
  await Promise.allSettled(options.contacts.map((c) => node.dial(peerIdFromString(c.id))))
  const peer = await openPeer({
    id: transport.localId,
    storage: raftStorage,
    transport,
    role: options.role ?? 'data',
    engine: { engine: 'wasm', wasm: options.wasm },
    raft: options.raft,
  })
  return {
    id: transport.localId,
    peer,
    node,
    transport,
    async close() {
      await peer.close()
      await transport.close()
      await node.stop()
    },
  }
}

/** The libp2p private key in the object's SQLite storage, beside the Raft tables. */
function durableObjectKeyStore(storage: DurableObjectStorageLike): KeyStore {
  storage.sql.exec('CREATE TABLE IF NOT EXISTS flotilla_identity (id INTEGER PRIMARY KEY, key BLOB NOT NULL)')
  return {
    async load() {
      const row = storage.sql.exec('SELECT key FROM flotilla_identity WHERE id = 0').toArray()[0]
      return row ? new Uint8Array(row.key as ArrayBuffer) : undefined
    },
    async save(key) {
      storage.sql.exec('INSERT OR REPLACE INTO flotilla_identity VALUES (0, ?)', key.slice().buffer)
      await storage.sync()
    },
  }
}
