import { Decoder, Encoder } from 'cbor-x'

/**
 * The one CBOR codec. Byte strings stay plain CBOR byte strings (no typed-array tag) so other
 * languages read them; records are not used so every frame is self-describing.
 */
const encoder = new Encoder({ tagUint8Array: false, useRecords: false, mapsAsObjects: true })
const decoder = new Decoder({ useRecords: false, mapsAsObjects: true })

/**
 * The encoding of `value` in a buffer of its own. cbor-x writes into one shared scratch buffer
 * (grown to several times the largest value encoded) and returns a view of it; handing that view
 * on would pin the scratch buffer, and a transport that clones or transfers the bytes (postMessage,
 * structuredClone) would copy all of it for every message.
 */
export function encodeCbor(value: unknown): Uint8Array {
  return new Uint8Array(encoder.encode(value))
}

export function decodeCbor<T = unknown>(bytes: Uint8Array): T {
  return decoder.decode(bytes) as T
}
