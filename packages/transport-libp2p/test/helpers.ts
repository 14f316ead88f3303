import { type Message, MessageType } from '@flotilla/core'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { createLibp2pTransport, type Libp2pTransport, type Libp2pTransportOptions } from '../src/index.js'
import { type NodePeerOptions, nodePeer } from '../src/node/index.js'

export type Kind = 'tcp' | 'ws' | 'quic'

const ONLY: Record<Kind, NodePeerOptions> = {
  tcp: { wsPort: false, quicPort: false, webrtcDirectPort: false },
  ws: { tcpPort: false, quicPort: false, webrtcDirectPort: false },
  quic: { tcpPort: false, wsPort: false, webrtcDirectPort: false },
}

export interface TestPeer {
  node: Libp2p
  transport: Libp2pTransport
  received: Message[]
}

/** A loopback Node peer listening on one transport kind. */
export async function startPeer(
  kind: Kind,
  opts: { privateKey?: PrivateKey; port?: number; transport?: Partial<Libp2pTransportOptions> } = {},
): Promise<TestPeer> {
  const portKey = kind === 'tcp' ? 'tcpPort' : kind === 'ws' ? 'wsPort' : 'quicPort'
  const node = await createLibp2p(
    nodePeer({
      host: '127.0.0.1',
      ...ONLY[kind],
      ...(opts.port ? { [portKey]: opts.port } : {}),
      ...(opts.privateKey ? { privateKey: opts.privateKey } : {}),
    }),
  )
  const transport = await createLibp2pTransport(node, { isMember: () => true, ...opts.transport })
  const received: Message[] = []
  transport.onMessage((m) => received.push(m))
  return { node, transport, received }
}

export function addrOf(peer: TestPeer): Multiaddr {
  return peer.node.getMultiaddrs()[0]
}

/** Tells `from` where `to` listens, as an application does from its membership records. */
export async function introduce(from: TestPeer, to: TestPeer): Promise<void> {
  await from.node.peerStore.merge(to.node.peerId, { multiaddrs: to.node.getMultiaddrs() })
}

export async function stop(...peers: TestPeer[]): Promise<void> {
  for (const p of peers) {
    await p.transport.close()
    await p.node.stop()
  }
}

export function appMessage(from: string, to: string, seq: number, bytes = 0): Message {
  return {
    type: MessageType.App,
    from,
    to,
    term: 1,
    index: seq,
    entries:
      bytes > 0 ? [{ term: 1, index: seq + 1, type: 0, data: new Uint8Array(bytes).fill(seq & 0xff) }] : [],
  }
}

export async function waitFor(cond: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}
