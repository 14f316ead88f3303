export { PeerError, type PeerErrorCode, type PeerErrorDetails } from './errors.js'
export type * from './types.js'
