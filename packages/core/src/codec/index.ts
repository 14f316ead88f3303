export { decodeCbor, encodeCbor } from './codec.js'
export { CodecError } from './errors.js'
export {
  decodeEntry,
  decodeMessage,
  decodeSnapshotMeta,
  encodeEntry,
  encodeMessage,
  encodeMessageParts,
  encodeSnapshotMeta,
  isWireInt,
  MESSAGE_CODEC_VERSION,
} from './message-codec.js'
export {
  assertValidMessage,
  DEFAULT_MESSAGE_LIMITS,
  type InvalidMessage,
  type InvalidMessageReason,
  type MessageLimits,
  MessageValidationError,
  validateMessage,
} from './validate-message.js'
