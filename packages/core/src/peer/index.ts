export { PeerError, type PeerErrorCode, type PeerErrorDetails } from './errors.js'
export { openPeer } from './open-peer.js'
export type * from './types.js'
