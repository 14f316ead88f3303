export {
  allMembers,
  allVoters,
  applyConfChange,
  type ConfChange,
  type ConfChangeItem,
  type ConfChangeType,
  decodeConfChange,
  emptyConfState,
  encodeConfChange,
  isJoint,
} from './confchange.js'
export { maxLeaseTicks, type RaftConfig, type RaftFaults } from './config.js'
export { RaftError, type RaftErrorCode } from './errors.js'
export { type LogStorage, MemoryLog } from './log-storage.js'
export * from './messages.js'
export { type Freshness, Raft, ReadMode, type ReadState, type Role } from './raft.js'
export { type PeerProgress, type RaftStatus, RawNode, type Ready, type SoftState } from './raw-node.js'
