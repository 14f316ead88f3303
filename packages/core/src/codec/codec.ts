import { Decoder, Encoder } from 'cbor-x'

/**
 * The one CBOR codec. Byte strings stay plain CBOR byte strings (no typed-array tag) so other
 * languages read them; records are not used so every frame is self-describing.
 */
const encoder = new Encoder({ tagUint8Array: false, useRecords: false, mapsAsObjects: true })
const decoder = new Decoder({ useRecords: false, mapsAsObjects: true })

export function encodeCbor(value: unknown): Uint8Array {
  return encoder.encode(value)
}

export function decodeCbor<T = unknown>(bytes: Uint8Array): T {
  return decoder.decode(bytes) as T
}
