import { openPeer, type Peer, type PeerStatus } from '@flotilla/core'
import { openIdbStorage } from '@flotilla/storage-idb'
import {
  browserPeer,
  createLibp2pTransport,
  followMembership,
  indexedDbKeyStore,
  loadOrCreateIdentity,
  type MembershipGate,
  membershipGate,
} from '@flotilla/transport-libp2p/browser'
import type { Libp2p } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import type { Embedder } from '../embedder.js'
import type { EventLog } from '../event-log.js'
import { seedDocuments } from '../seed.js'
import { admitJoiners, joinGroup } from './join.js'
import { leaderView, serveStatus } from './leader-view.js'
import { keepMembership } from './membership.js'
import { Mesh } from './mesh.js'
import { OfflineGate } from './offline-gate.js'
import { type DemoConfig, rendezvous } from './rendezvous.js'

export const COLLECTION = 'docs'
/**
 * The usearch binary, as a URL the bundler emits: core locates it at run time in a way
 * bundlers do not follow, so the app hands it over.
 */
const USEARCH_WASM = new URL('../../../../packages/core/src/vector/wasm/build/usearch.wasm', import.meta.url)
/** Tabs rank below Node peers for leadership: their timers stall and they close. */
export const TAB_PRIORITY = 0.5

export interface TabPeerOptions {
  config: DemoConfig
  /** Names this peer's key in IndexedDB: one per tab, or one per profile. */
  name: string
  embedder: Embedder
  log: EventLog
  /** Wait for another tab holding this peer to close (one peer per profile). */
  waitForLock?: boolean
  seedCount?: number
}

/** A running browser peer and what the demo needs around it. */
export interface TabPeer {
  id: string
  peer: Peer
  node: Libp2p
  gate: OfflineGate
  /** Who may connect to this tab: the group's members and the Node peers (see the README). */
  membership: MembershipGate
  mesh: Mesh
  /** The leader's status (for each member's lag), when reachable. */
  leaderView(): Promise<PeerStatus | null>
  close(): Promise<void>
}

/**
 * Opens this tab's peer: its identity and IndexedDB storage, libp2p through the relay, the
 * Raft transport behind an offline switch, then `openPeer`. A tab with empty storage either
 * founds the group (the rendezvous says none exists) or waits there for the leader to add it.
 */
export async function startTabPeer(options: TabPeerOptions): Promise<TabPeer> {
  const { config, log } = options
  // Under a lock: two tabs of a fresh profile must not each create (and save) a key.
  const privateKey = await navigator.locks.request('flotilla-demo-identity', () =>
    loadOrCreateIdentity(indexedDbKeyStore('flotilla-demo-keys', options.name)),
  )
  const id = peerIdFromPrivateKey(privateKey).toString()
  // The storage's Web Lock makes this tab the only one running this peer.
  const storage = await openIdbStorage({ peerId: id, wait: options.waitForLock ?? false })
  const stored = await storage.load()
  const empty = stored.lastIndex === 0 && stored.hardState.term === 0 && stored.snapshot === null

  // Who may connect: members of the group and the Node peers (the relay first of all), refused
  // otherwise when the encrypted handshake ends or, through the relay, before it starts. Joins
  // need no exception (join.ts): a joiner is added through the rendezvous, and only its own
  // gate is open, until it learns its configuration. The stored one applies from openPeer on.
  const nodePeers = Object.keys(config.nodeAddrs)
  // Two tabs that dial each other at once hold a relayed and a WebRTC connection each way.
  const membership = membershipGate({ members: [id, ...nodePeers], maxConnectionsPerPeer: 4 })
  if (empty) membership.openUntilMembers()
  const node = await createLibp2p(
    browserPeer({
      privateKey,
      gate: membership,
      ...(config.local ? { iceServers: [], allowInsecureLocalDials: true } : {}),
    }),
  )
  let peer: Peer | undefined
  const transport = await createLibp2pTransport(node, {
    isMember: (p) => peer?.isMember(p) ?? true,
    gate: membership,
  })
  const gate = new OfflineGate(transport)
  const mesh = new Mesh(node, config)
  log.add('network', `peer ${short(id)}: reaching the relay`)
  await mesh.reachRelay()
  log.add('network', 'reached the relay; reachable over WebRTC through it')

  const hello = await rendezvous.hello(id, empty)
  peer = await openPeer({
    id,
    storage,
    transport: gate,
    role: 'data',
    engine: { engine: 'wasm', wasm: USEARCH_WASM.href },
    ...(hello.founder ? { bootstrap: { voters: [id] } } : {}),
    raft: {
      leaseEligible: false,
      priority: TAB_PRIORITY,
      priorityOf: (p: string) => (config.nodeAddrs[p] ? 1 : TAB_PRIORITY),
    },
  })
  const running = peer
  log.add(
    'start',
    empty
      ? `peer ${short(id)} started with empty storage`
      : `peer ${short(id)} recovered from IndexedDB (log up to ${stored.lastIndex})`,
  )
  const stopFollowing = followMembership(membership, running, { alwaysAllow: nodePeers })
  mesh.track(running)
  await serveStatus(node, running)
  const stopKeeper = keepMembership(running, node, config, log)
  const stopAdmitting = admitJoiners(running, config, log)

  if (hello.founder) await found(running, options)
  else if (empty) await joinGroup(running, log)

  return {
    id,
    peer: running,
    node,
    gate,
    membership,
    mesh,
    leaderView: leaderView(node, running, config),
    async close() {
      stopKeeper()
      stopAdmitting()
      stopFollowing()
      mesh.stop()
      await running.close().catch(() => {})
      await Promise.resolve(node.stop()).catch(() => {})
    },
  }
}

/** The founder: leads alone, adds the witness, creates the collection and seeds it. */
async function found(peer: Peer, options: TabPeerOptions): Promise<void> {
  const { config, log, embedder } = options
  await waitFor(() => peer.status().raftRole === 'leader', 10_000, 'founder did not become leader')
  log.add('group', `founded the group; adding the witness ${short(config.witness)}`)
  await peer.addMember(config.witness, { as: 'witness' })
  const { created } = await peer.createCollection(COLLECTION, {
    dimensions: embedder.dimensions,
    metric: 'cos',
  })
  if (created) {
    const docs = seedDocuments(options.seedCount)
    const docsCollection = peer.collection(COLLECTION)
    for (let i = 0; i < docs.length; i += 64) {
      const batch = docs.slice(i, i + 64)
      const vectors = await embedder.embed(batch.map((d) => d.text))
      await docsCollection.upsert(
        batch.map((d, j) => ({ id: d.id, vector: vectors[j], metadata: { text: d.text, topic: d.topic } })),
      )
    }
    log.add('data', `seeded ${docs.length} documents`)
  }
  await rendezvous.founded(peer.id)
}

export async function waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = performance.now() + timeoutMs
  while (!cond()) {
    if (performance.now() > end) throw new Error(`timed out: ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

export const short = (id: string | null | undefined): string => (id ? `…${id.slice(-6)}` : '—')

/** The circuit address through which other tabs reach `id` over WebRTC. */
export const webrtcAddr = (config: DemoConfig, id: string) =>
  multiaddr(`${config.relay}/p2p-circuit/webrtc/p2p/${id}`)
