import './shims.js'
import { quic } from '@chainsafe/libp2p-quic'
import { circuitRelayServer, circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { identify } from '@libp2p/identify'
import type { PrivateKey } from '@libp2p/interface'
import { noise } from '@libp2p/noise'
import { tcp } from '@libp2p/tcp'
import { webRTCDirect } from '@libp2p/webrtc'
import { webSockets } from '@libp2p/websockets'
import { yamux } from '@libp2p/yamux'
import type { Libp2pOptions } from 'libp2p'
import type { MembershipGate } from '../gate.js'

export interface RelayServerOptions {
  /** Reservations held at once (default 128: a group of tabs, each reserving a slot). */
  maxReservations?: number
  /** Life of a relayed connection (default 10 min; libp2p's default is 2 min). */
  durationLimitMs?: number
  /** Bytes a relayed connection may carry (default 64 MiB; libp2p's default is 128 KiB). */
  dataLimitBytes?: number
  /**
   * Life of a reservation (default 2 min; libp2p's is 2 h). Clients refresh theirs every 30 s
   * or so, and the gate frees a slot when its holder disconnects; a short life bounds how long
   * a slot stays taken by anyone else.
   */
  reservationTtlMs?: number
}

export interface NodePeerOptions {
  privateKey?: PrivateKey
  /** Interface to listen on (default '0.0.0.0'; tests use '127.0.0.1'). */
  host?: string
  /** Port per transport; 0 picks a free one, false turns the transport's listener off. */
  tcpPort?: number | false
  wsPort?: number | false
  quicPort?: number | false
  webrtcDirectPort?: number | false
  /** Run a circuit-relay-v2 server so that browsers can reserve a slot and signal WebRTC. */
  relay?: boolean | RelayServerOptions
  /** ICE servers for WebRTC-direct (default none: a Node peer is dialled on a public address). */
  iceServers?: RTCIceServer[]
  /**
   * A QUIC connection with no packet for this long is dead (default 4 s, with keep-alives every
   * second; libp2p-quic's default is 10 s). QUIC has no FIN from a killed process: until then a
   * restarted peer's PeerId is reached through the dead connection.
   */
  quicIdleTimeoutMs?: number
  /**
   * Who may connect (see `membershipGate`): strangers are refused after the handshake, before
   * any stream; with `relay`, reservations and relayed connections are for allowed peers only.
   * Without a gate every peer may connect and only the Raft streams are gated.
   */
  gate?: MembershipGate
}

/**
 * libp2p options for a Node peer: TCP, WebSockets, QUIC and WebRTC-direct listeners, noise,
 * yamux, identify, and optionally a circuit-relay-v2 server with limits raised for browsers.
 */
export function nodePeer(options: NodePeerOptions = {}): Libp2pOptions<Record<string, unknown>> {
  const host = options.host ?? '0.0.0.0'
  const listen: string[] = []
  if (options.tcpPort !== false) listen.push(`/ip4/${host}/tcp/${options.tcpPort ?? 0}`)
  if (options.wsPort !== false) listen.push(`/ip4/${host}/tcp/${options.wsPort ?? 0}/ws`)
  if (options.quicPort !== false) listen.push(`/ip4/${host}/udp/${options.quicPort ?? 0}/quic-v1`)
  if (options.webrtcDirectPort !== false) {
    listen.push(`/ip4/${host}/udp/${options.webrtcDirectPort ?? 0}/webrtc-direct`)
  }
  // node-datachannel binds every interface unless told; on loopback it must bind 127.0.0.1.
  const rtcConfiguration = {
    iceServers: options.iceServers ?? [],
    ...(host === '0.0.0.0' ? {} : { bindAddress: host }),
  } as RTCConfiguration
  const idle = options.quicIdleTimeoutMs ?? 4000
  const services: Record<string, unknown> = { identify: identify() }
  if (options.relay) {
    const r = options.relay === true ? {} : options.relay
    services.relay = circuitRelayServer({
      reservations: {
        maxReservations: r.maxReservations ?? 128,
        defaultDurationLimit: r.durationLimitMs ?? 10 * 60_000,
        defaultDataLimit: BigInt(r.dataLimitBytes ?? 64 * 1024 * 1024),
        reservationTtl: r.reservationTtlMs ?? 2 * 60_000,
      },
    })
  }
  return {
    ...(options.privateKey ? { privateKey: options.privateKey } : {}),
    addresses: { listen },
    transports: [
      tcp(),
      webSockets(),
      quic({ maxIdleTimeout: idle, keepAliveInterval: Math.max(100, Math.floor(idle / 4)) }),
      webRTCDirect({ rtcConfiguration }),
      circuitRelayTransport(),
    ],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    ...(options.gate ? { connectionGater: options.gate.connectionGater() } : {}),
    services: services as Libp2pOptions<Record<string, unknown>>['services'],
  }
}
