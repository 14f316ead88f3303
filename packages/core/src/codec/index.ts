export { decodeCbor, encodeCbor } from './codec.js'
export { CodecError } from './errors.js'
export {
  decodeEntry,
  decodeMessage,
  decodeMessageCbor,
  decodeSnapshotMeta,
  encodeEntry,
  encodeMessage,
  encodeMessageCbor,
  encodeMessageParts,
  encodeSnapshotMeta,
  MESSAGE_CODEC_VERSION,
} from './message-codec.js'
