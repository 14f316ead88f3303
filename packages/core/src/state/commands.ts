import { decodeCbor, encodeCbor } from '../codec/index.js'
import type { Metric, Quantization } from '../vector/index.js'
import { checkEncoding } from './encoding-check.js'
import { InvalidCommandError } from './errors.js'
import { COMMAND_FRAME_DEPTH, DEFAULT_LIMITS } from './limits.js'
import { clonePlain } from './values.js'

/** Version of the command encoding; bump with a decoder for the old one. */
export const COMMAND_VERSION = 1

/** Metadata is a CBOR map: string keys, values of any CBOR type. */
export type Metadata = Record<string, unknown>

export interface CollectionOptions {
  dimensions: number
  metric: Metric
  quantization?: Quantization
  connectivity?: number
  expansionAdd?: number
  expansionSearch?: number
}

export interface UpsertItem {
  id: string
  vector: Float32Array
  metadata?: Metadata
}

/** A client session makes a retried command apply once. */
export interface Session {
  client: string
  seq: number
}

export type Command = (
  | { op: 'create'; name: string; options: CollectionOptions }
  | { op: 'drop'; name: string }
  | { op: 'upsert'; collection: string; items: UpsertItem[] }
  | { op: 'update'; collection: string; id: string; metadata: Metadata }
  | { op: 'delete'; collection: string; ids: string[] }
  | { op: 'compact'; collection: string }
) & { session?: Session }

export type CommandOp = Command['op']

// Vectors travel as raw little-endian f32 bytes: compact, and exact bit for bit.
const LITTLE_ENDIAN = new Uint8Array(new Float32Array([1]).buffer)[3] === 0x3f

function vectorToBytes(v: Float32Array): Uint8Array {
  // On a little-endian machine the vector's memory is the wire form: the encoder copies it.
  if (LITTLE_ENDIAN) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength)
  const out = new Uint8Array(v.length * 4)
  const view = new DataView(out.buffer)
  for (let i = 0; i < v.length; i++) view.setFloat32(i * 4, v[i], true)
  return out
}

function bytesToVector(b: Uint8Array, field: string): Float32Array {
  if (!(b instanceof Uint8Array) || b.length % 4 !== 0)
    throw new InvalidCommandError(field, 'vector must be a byte string of f32 values')
  const out = new Float32Array(b.length / 4)
  // One copy of the bytes (NaN payloads included) where the machine's order is the wire's.
  if (LITTLE_ENDIAN) {
    new Uint8Array(out.buffer).set(b)
    return out
  }
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength)
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true)
  return out
}

export function encodeCommand(cmd: Command): Uint8Array {
  const wire: Record<string, unknown> = { ...cmd, v: COMMAND_VERSION }
  if (cmd.op === 'upsert') wire.items = cmd.items.map((it) => ({ ...it, vector: vectorToBytes(it.vector) }))
  return encodeCbor(wire)
}

/**
 * Decodes a command; shape errors become InvalidCommandError (field-level checks: validate).
 * The bytes are checked first (see checkEncoding), so what decodes reads the same everywhere.
 */
export function decodeCommand(
  bytes: Uint8Array,
  maxMetadataDepth: number = DEFAULT_LIMITS.maxMetadataDepth,
): Command {
  checkEncoding(bytes, COMMAND_FRAME_DEPTH + maxMetadataDepth)
  let wire: Record<string, unknown>
  try {
    wire = decodeCbor<Record<string, unknown>>(bytes)
  } catch (err) {
    // Out of memory or stack is this replica's problem, not the entry's.
    if (err instanceof RangeError) throw err
    throw new InvalidCommandError(undefined, `not CBOR: ${(err as Error).message}`)
  }
  if (typeof wire !== 'object' || wire === null) throw new InvalidCommandError(undefined, 'not a map')
  if (wire.v !== COMMAND_VERSION)
    throw new InvalidCommandError('v', `unsupported command version ${String(wire.v)}`)
  const { v: _v, ...cmd } = wire
  // Byte strings decode as Buffer in Node and Uint8Array elsewhere: every replica keeps the latter.
  if (cmd.op === 'update') cmd.metadata = clonePlain(cmd.metadata)
  if (cmd.op === 'upsert') {
    if (!Array.isArray(cmd.items)) throw new InvalidCommandError('items', 'must be an array')
    cmd.items = cmd.items.map((it: Record<string, unknown>, i: number) => {
      if (typeof it !== 'object' || it === null) throw new InvalidCommandError(`items[${i}]`, 'must be a map')
      // The decoder made this map: it is changed in place (its keys keep their order).
      it.vector = bytesToVector(it.vector as Uint8Array, `items[${i}].vector`)
      if ('metadata' in it) it.metadata = clonePlain(it.metadata)
      return it
    })
  }
  return cmd as unknown as Command
}
