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
  MESSAGE_CODEC_VERSION,
} from './message-codec.js'
