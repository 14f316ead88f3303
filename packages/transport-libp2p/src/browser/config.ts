import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { identify } from '@libp2p/identify'
import type { PrivateKey } from '@libp2p/interface'
import { noise } from '@libp2p/noise'
import { isLoopback, isPrivate } from '@libp2p/utils'
import { webRTC, webRTCDirect } from '@libp2p/webrtc'
import { webSockets } from '@libp2p/websockets'
import { yamux } from '@libp2p/yamux'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Libp2pOptions } from 'libp2p'
import type { MembershipGate } from '../gate.js'

export interface BrowserPeerOptions {
  /** The peer's identity (see `loadOrCreateIdentity` with `indexedDbKeyStore`). */
  privateKey?: PrivateKey
  /**
   * ICE servers for WebRTC. Default: libp2p's public STUN servers. Pass `[]` on loopback or a
   * LAN, where no STUN is needed and no outside traffic is wanted.
   */
  iceServers?: RTCIceServer[]
  /**
   * Local development and tests only: allow dialling loopback addresses (`ws://` included),
   * which the browser build of libp2p refuses by default. Other private addresses and insecure
   * WebSockets stay refused, and the membership gate stays in force.
   */
  allowInsecureLocalDials?: boolean
  /**
   * Who may connect (see `membershipGate`): only allowed peers may dial this tab through a
   * relay or reach it over WebRTC. Without a gate anyone who reaches the relay can.
   */
  gate?: MembershipGate
}

/** libp2p's own browser rule: no insecure WebSockets, no private addresses. */
function browserDialRefused(ma: Multiaddr): boolean {
  const names = ma.getComponents().map((c) => c.name)
  if (names.includes('ws') && !names.includes('tls')) return true
  return isPrivate(ma)
}

/**
 * libp2p options for a peer on a web page (not a worker: WebRTC exists only on the page):
 * WebSockets to reach the relay, circuit relay v2 to be reachable through it and to signal,
 * WebRTC between browsers, WebRTC-direct to Node peers; noise, yamux and identify.
 */
export function browserPeer(
  options: BrowserPeerOptions = {},
): Libp2pOptions<{ identify: ReturnType<ReturnType<typeof identify>> }> {
  const rtcConfiguration = options.iceServers ? { iceServers: options.iceServers } : undefined
  return {
    ...(options.privateKey ? { privateKey: options.privateKey } : {}),
    addresses: { listen: ['/p2p-circuit', '/webrtc'] },
    transports: [
      webSockets(),
      webRTC(rtcConfiguration ? { rtcConfiguration } : {}),
      webRTCDirect(rtcConfiguration ? { rtcConfiguration } : {}),
      circuitRelayTransport(),
    ],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater: {
      ...options.gate?.connectionGater(),
      denyDialMultiaddr: (ma) =>
        !(options.allowInsecureLocalDials && isLoopback(ma)) && browserDialRefused(ma),
    },
    services: { identify: identify() },
  }
}
