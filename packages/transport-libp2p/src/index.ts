export { type DialRetryOptions, dialWithRetry } from './dial.js'
export { FrameError, TransportError } from './errors.js'
export { encodeFrame, FrameDecoder } from './framing.js'
export { type KeyStore, loadOrCreateIdentity, memoryKeyStore } from './identity.js'
export {
  createLibp2pTransport,
  Libp2pTransport,
  type Libp2pTransportOptions,
  RAFT_PROTOCOL,
  SNAPSHOT_PROTOCOL,
} from './libp2p-transport.js'
export type { DropReason, TransportStats } from './metrics.js'
