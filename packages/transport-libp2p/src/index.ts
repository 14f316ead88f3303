export {
  ADMISSION_PROTOCOL,
  type AdmissionOptions,
  requestAdmission,
  serveAdmission,
} from './admission.js'
export { type DialRetryOptions, dialWithRetry } from './dial.js'
export { FrameError, TransportError } from './errors.js'
export { type FollowMembershipOptions, followMembership } from './follow-membership.js'
export { encodeFrame, FrameDecoder } from './framing.js'
export { type GateStats, MembershipGate, type MembershipGateOptions, membershipGate } from './gate.js'
export { type KeyStore, loadOrCreateIdentity, memoryKeyStore } from './identity.js'
export {
  createLibp2pTransport,
  Libp2pTransport,
  type Libp2pTransportOptions,
  RAFT_PROTOCOL,
  SNAPSHOT_PROTOCOL,
} from './libp2p-transport.js'
export type { DropReason, TransportStats } from './metrics.js'
