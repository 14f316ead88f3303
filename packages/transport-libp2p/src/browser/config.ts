import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { identify } from '@libp2p/identify'
import type { PrivateKey } from '@libp2p/interface'
import { noise } from '@libp2p/noise'
import { webRTC, webRTCDirect } from '@libp2p/webrtc'
import { webSockets } from '@libp2p/websockets'
import { yamux } from '@libp2p/yamux'
import type { Libp2pOptions } from 'libp2p'

export interface BrowserPeerOptions {
  /** The peer's identity (see `loadOrCreateIdentity` with `indexedDbKeyStore`). */
  privateKey?: PrivateKey
  /**
   * ICE servers for WebRTC. Default: libp2p's public STUN servers. Pass `[]` on loopback or a
   * LAN, where no STUN is needed and no outside traffic is wanted.
   */
  iceServers?: RTCIceServer[]
  /**
   * Local development and tests only: allow dialling `ws://` and private/loopback addresses,
   * which the browser build of libp2p refuses by default. Never set it in production.
   */
  allowInsecureLocalDials?: boolean
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
    connectionGater: options.allowInsecureLocalDials ? { denyDialMultiaddr: () => false } : {},
    services: { identify: identify() },
  }
}
