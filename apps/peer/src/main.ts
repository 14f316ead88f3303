import { mkdir } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { type Bootstrap, openPeer, type Peer } from '@flotilla/core'
import { openFsStorage } from '@flotilla/storage-fs'
import {
  createLibp2pTransport,
  fileKeyStore,
  followMembership,
  loadOrCreateIdentity,
  nodePeer,
} from '@flotilla/transport-libp2p/node'
import { getRequestListener } from '@hono/node-server'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { ping } from '@libp2p/ping'
import { prometheusMetrics } from '@libp2p/prometheus-metrics'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import type { Logger } from 'pino'
import { type PeerConfig, parseHostPort } from './config.js'
import { createHttpApi } from './http/app.js'
import { logPeerEvents } from './log.js'
import { PeerMetricsRegistry } from './metrics.js'
import { AddressBook, splitPeerAddr } from './p2p/address-book.js'
import { GroupAdmin } from './p2p/admin.js'
import { ADMISSION_TTL_MS, createGate, serveTabAdmission } from './p2p/gate.js'
import { joinGroup } from './p2p/join.js'

export interface RunningPeer {
  peer: Peer
  node: Libp2p
  /** `http://host:port` of the API, or null when it is off. */
  httpUrl: string | null
  /** Shuts down in order: leadership handed over, pending writes failed, HTTP, libp2p, storage. */
  close(): Promise<void>
}

export const identityFile = (data: string) => join(data, 'peer.key')

export async function loadIdentity(data: string): Promise<PrivateKey> {
  await mkdir(data, { recursive: true })
  return loadOrCreateIdentity(fileKeyStore(identityFile(data)))
}

/** The founding members (this peer included) from `--peer` / `--witness` multiaddrs. */
function foundingMembers(
  config: PeerConfig,
  self: string,
): { bootstrap: Bootstrap; addrs: Map<string, string[]> } {
  const addrs = new Map<string, string[]>()
  const ids = (list: string[], field: string) =>
    list.map((a) => {
      const { id, addr } = splitPeerAddr(a)
      if (!id) throw new Error(`${field}: "${a}" must end in /p2p/<peer id>`)
      addrs.set(id, [...(addrs.get(id) ?? []), addr])
      return id
    })
  const voters = ids(config.peers, 'peer')
  const witnesses = ids(config.witnesses, 'witness')
  if (config.role === 'witness') witnesses.push(self)
  else voters.push(self)
  return {
    bootstrap: { voters: [...new Set(voters)].sort(), witnesses: [...new Set(witnesses)].sort() },
    addrs,
  }
}

/** `flotilla-peer start`: storage-fs + libp2p + openPeer + the HTTP API. */
export async function startPeer(config: PeerConfig, log: Logger): Promise<RunningPeer> {
  // The storage lock first: a second start on the same folder fails before binding any port.
  const storage = await openFsStorage({ dir: join(config.data, 'raft') })
  const privateKey = await loadIdentity(config.data)
  let peer: Peer | null = null
  const self = peerIdFromPrivateKey(privateKey).toString()
  const founders = config.join ? null : foundingMembers(config, self)
  const gate = createGate({
    self,
    founders: founders ? [...founders.bootstrap.voters, ...(founders.bootstrap.witnesses ?? [])] : null,
    relay: config.relay,
    token: config.token,
  })
  const metrics = new PeerMetricsRegistry({
    peer: () => peer,
    transport: () => transport.stats(),
    ...(gate ? { gate: () => ({ ...gate.stats() }) } : {}),
  })
  const host = config.listen.map((a) => /^\/ip4\/([^/]+)/.exec(a)?.[1]).find(Boolean) ?? '0.0.0.0'
  const options = nodePeer({ privateKey, host, relay: config.relay, ...(gate ? { gate } : {}) })
  const node = await createLibp2p({
    ...options,
    addresses: { listen: config.listen },
    services: { ...options.services, ping: ping() },
    metrics: prometheusMetrics({ registry: metrics.registry, preserveExistingMetrics: true }),
  })
  const addresses = new AddressBook(node, join(config.data, 'peers.json'), log)
  await addresses.load()
  for (const [id, list] of founders?.addrs ?? []) await addresses.learn(id, list)

  // Until openPeer returns, accept the founders (or anyone, while waiting to join).
  const early = new Set(
    founders ? [...founders.bootstrap.voters, ...(founders.bootstrap.witnesses ?? [])] : [],
  )
  const transport = await createLibp2pTransport(node, {
    isMember: (id) => (peer ? peer.isMember(id) : !founders || early.has(id)),
    ...(gate ? { gate } : {}),
  })
  const stopNetwork = async () => {
    await transport.close().catch(() => {})
    await Promise.resolve(node.stop()).catch(() => {})
    await storage.close().catch(() => {})
  }
  const opened = await openPeer({
    id: self,
    storage,
    transport,
    role: config.role,
    ...(founders ? { bootstrap: founders.bootstrap } : {}),
    raft: { tickMs: config.tickMs, electionTicks: config.electionTicks, priority: config.priority },
    snapshot: { entries: config.snapshotEntries },
  }).catch(async (error) => {
    await stopNetwork()
    throw error
  })
  peer = opened
  const stopFollowing = gate ? followMembership(gate, opened) : () => {}
  const stopLogging = logPeerEvents(opened, log)
  const s = opened.status()
  log.info(
    {
      event: 'recovered',
      term: s.term,
      commit: s.commit,
      applied: s.applied,
      lastIndex: s.lastIndex,
      snapshotIndex: s.snapshotIndex,
    },
    'storage recovered',
  )

  const admin = new GroupAdmin(node, opened, addresses, config.token, (id) =>
    gate?.admit(id, ADMISSION_TTL_MS),
  )
  await admin.listen()
  if (gate && config.relay && config.token !== undefined) await serveTabAdmission(node, gate, config.token)
  await addresses.start(opened)
  const joining = config.join
    ? joinGroup({
        node,
        peer: opened,
        seed: multiaddr(config.join),
        as: config.role === 'witness' ? 'witness' : 'voter',
        token: config.token,
        log,
      })
    : null

  let server: Server | null = null
  let httpUrl: string | null = null
  if (config.http) {
    const { host: httpHost, port } = parseHostPort(config.http)
    const app = createHttpApi({
      peer: opened,
      admin,
      token: config.token,
      bodyLimitBytes: config.bodyLimit,
      metrics,
      onInternalError: (err, c) =>
        log.error({ err, method: c.req.method, path: c.req.path }, 'request failed'),
    })
    server = createServer(getRequestListener(app.fetch))
    await new Promise<void>((resolve, reject) => {
      server!.once('error', reject)
      server!.listen(port, httpHost, () => resolve())
    })
    const bound = server.address() as AddressInfo
    httpUrl = `http://${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}`
  }
  log.info(
    {
      event: 'started',
      id: self,
      role: config.role,
      relay: config.relay,
      multiaddrs: node.getMultiaddrs().map(String),
      http: httpUrl,
    },
    'peer started',
  )

  let closing: Promise<void> | null = null
  const close = () => {
    closing ??= (async () => {
      log.info({ event: 'stopping' }, 'shutting down')
      joining?.stop()
      addresses.stop()
      // A leader hands over first; pending writes fail with ERR_CLOSED (503 to their clients).
      await opened
        .close({ transfer: true, timeoutMs: 5000 })
        .catch((err) => log.error({ err }, 'close failed'))
      if (server) {
        const closed = new Promise((resolve) => server!.close(resolve))
        server.closeIdleConnections()
        await closed
      }
      stopLogging()
      stopFollowing()
      await stopNetwork()
      log.info({ event: 'stopped' }, 'stopped')
    })()
    return closing
  }
  return { peer: opened, node, httpUrl, close }
}
