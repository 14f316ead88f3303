// The Deno peer: storage-fs (through Deno's Node compatibility), the WebAssembly index, libp2p
// over TCP and WebSockets, and the peer's HTTP routes. One JSON argument (see PeerConfig);
// prints {"pid", "id", "addrs", "httpPort"} once it is up. SIGTERM closes it cleanly.
import { openPeer } from '@flotilla/core'
import { openFsStorage } from '@flotilla/storage-fs'
import {
  createLibp2pTransport,
  fileKeyStore,
  loadOrCreateIdentity,
  nodePeer,
} from '@flotilla/transport-libp2p/node'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { answerPeerRoute } from '../../edge/src/peer-routes.ts'

declare const Deno: {
  args: string[]
  pid: number
  exit(code: number): never
  addSignalListener(signal: 'SIGTERM' | 'SIGINT', fn: () => void): void
  serve(
    options: { hostname: string; port: number; onListen(addr: { port: number }): void },
    handler: (request: Request) => Promise<Response>,
  ): { shutdown(): Promise<void> }
}

interface PeerConfig {
  /** The libp2p private key file (created on first start): the peer's id. */
  keyFile: string
  dataDir: string
  host: string
  tcpPort: number
  wsPort: number
  httpPort: number
  /** Group members to reach: ids and addresses. Frames from anyone else are refused. */
  contacts: { id: string; addrs: string[] }[]
  bootstrap?: { voters: string[]; witnesses?: string[] }
  role?: 'data' | 'witness'
  /** Election priorities by id (default 1); every member must be given the same. */
  priorities?: Record<string, number>
}

const config = JSON.parse(Deno.args[0]) as PeerConfig
const privateKey = await loadOrCreateIdentity(fileKeyStore(config.keyFile))
const node = await createLibp2p(
  nodePeer({
    privateKey,
    host: config.host,
    tcpPort: config.tcpPort,
    wsPort: config.wsPort,
    quicPort: false,
    webrtcDirectPort: false,
  }),
)
const members = new Set(config.contacts.map((c) => c.id))
const transport = await createLibp2pTransport(node, { isMember: (id) => members.has(id) })
for (const c of config.contacts) {
  await node.peerStore.merge(peerIdFromString(c.id), { multiaddrs: c.addrs.map((a) => multiaddr(a)) })
}
const storage = await openFsStorage({ dir: config.dataDir })
const peer = await openPeer({
  id: transport.localId,
  storage,
  transport,
  role: config.role ?? 'data',
  bootstrap: config.bootstrap,
  raft: { priorityOf: (id) => config.priorities?.[id] ?? 1 },
})

const server = Deno.serve(
  {
    hostname: config.host,
    port: config.httpPort,
    onListen: ({ port }) =>
      console.log(
        JSON.stringify({
          pid: Deno.pid,
          id: transport.localId,
          addrs: node.getMultiaddrs().map(String),
          httpPort: port,
        }),
      ),
  },
  async (request) =>
    (await answerPeerRoute(peer, request, new URL(request.url).pathname)) ??
    Response.json({ error: { code: 'ERR_NOT_FOUND', message: 'no such route' } }, { status: 404 }),
)

let closing = false
const close = async () => {
  if (closing) return
  closing = true
  await peer.close()
  await transport.close()
  await server.shutdown()
  // libp2p's stop() does not return in Deno 2.9 (a handle stays open); the peer and its
  // storage are closed consistently by now, so leave.
  void node.stop()
  Deno.exit(0)
}
Deno.addSignalListener('SIGTERM', close)
Deno.addSignalListener('SIGINT', close)
