import { encodeCbor } from '../codec/index.js'
import { INDEX_DEFAULTS } from '../vector/index.js'
import type { CollectionOptions, Command, Metadata } from './commands.js'
import {
  CollectionExistsError,
  DimensionMismatchError,
  InvalidCommandError,
  InvalidIdError,
  InvalidMetadataError,
  InvalidNameError,
  MetadataTooLargeError,
  NonFiniteError,
  OutOfRangeError,
  UnknownCollectionError,
  UnknownIdError,
} from './errors.js'
import type { Limits } from './limits.js'
import { checkPlainValue, checkText, utf8Length } from './values.js'

/** What validation needs to know about the current state. */
export interface StateView {
  collectionOptions(name: string): CollectionOptions | undefined
  hasId(collection: string, id: string): boolean
}

const NAME = /^[A-Za-z0-9_.-]{1,64}$/
const METRICS = ['cos', 'ip', 'l2sq']
const QUANTIZATIONS = ['f32', 'f16', 'i8']

/**
 * Largest component magnitude per storage type: f16 turns anything past 65504 into Infinity;
 * f32 and i8 stay below the point where a squared distance over 4096 dimensions overflows f32.
 */
export const VECTOR_RANGE = { f32: 1e17, f16: 65504, i8: 1e17 } as const

/**
 * Throws the first problem with `cmd` against `state`, naming the field. Runs before a command
 * is proposed and again when it is applied (the state may have changed in between).
 */
export function validateCommand(cmd: Command, state: StateView, limits: Limits): void {
  if (typeof cmd !== 'object' || cmd === null)
    throw new InvalidCommandError(undefined, 'command must be an object')
  if (cmd.session !== undefined) validateSession(cmd.session, limits)
  switch (cmd.op) {
    case 'create':
      validateCreate(cmd.name, cmd.options, state, limits)
      return
    case 'drop':
      checkName('name', cmd.name)
      return
    case 'upsert': {
      const options = existing(state, cmd.collection)
      if (!Array.isArray(cmd.items) || cmd.items.length === 0)
        throw new InvalidCommandError('items', 'must be a non-empty array')
      checkBatch('items', cmd.items.length, limits)
      const seen = new Set<string>()
      cmd.items.forEach((item, i) => {
        const at = `items[${i}]`
        if (typeof item !== 'object' || item === null) throw new InvalidCommandError(at, 'must be an object')
        checkId(`${at}.id`, item.id, limits)
        if (seen.has(item.id)) throw new InvalidIdError(`${at}.id`, `"${item.id}" appears twice in one batch`)
        seen.add(item.id)
        checkVector(`${at}.vector`, item.vector, options)
        if (item.metadata !== undefined) checkMetadata(`${at}.metadata`, item.metadata, limits)
      })
      return
    }
    case 'update':
      existing(state, cmd.collection)
      checkId('id', cmd.id, limits)
      checkMetadata('metadata', cmd.metadata, limits)
      if (!state.hasId(cmd.collection, cmd.id)) throw new UnknownIdError('id', cmd.id)
      return
    case 'delete':
      existing(state, cmd.collection)
      if (!Array.isArray(cmd.ids) || cmd.ids.length === 0)
        throw new InvalidCommandError('ids', 'must be a non-empty array')
      checkBatch('ids', cmd.ids.length, limits)
      cmd.ids.forEach((id, i) => {
        checkId(`ids[${i}]`, id, limits)
      })
      return
    case 'compact':
      existing(state, cmd.collection)
      return
    default:
      throw new InvalidCommandError('op', `unknown op ${JSON.stringify((cmd as { op: unknown }).op)}`)
  }
}

export function validateSession(session: unknown, limits: Limits): void {
  const s = session as { client?: unknown; seq?: unknown }
  if (typeof s !== 'object' || s === null) throw new InvalidCommandError('session', 'must be an object')
  if (typeof s.client !== 'string' || s.client.length === 0)
    throw new InvalidCommandError('session.client', 'must be a non-empty string')
  checkText('session.client', s.client)
  const bytes = utf8Length(s.client)
  if (bytes > limits.maxClientIdBytes)
    throw new InvalidCommandError(
      'session.client',
      `is ${bytes} bytes; the limit is ${limits.maxClientIdBytes}`,
    )
  if (!Number.isSafeInteger(s.seq) || (s.seq as number) < 1)
    throw new InvalidCommandError('session.seq', 'must be a positive integer')
}

function validateCreate(name: string, options: CollectionOptions, state: StateView, limits: Limits): void {
  checkName('name', name)
  if (typeof options !== 'object' || options === null)
    throw new InvalidCommandError('options', 'must be an object')
  const { dimensions, metric, quantization, connectivity, expansionAdd, expansionSearch } = options
  checkInt('options.dimensions', dimensions, 1, limits.maxDimensions)
  if (!METRICS.includes(metric))
    throw new InvalidCommandError('options.metric', `must be one of ${METRICS.join(', ')}`)
  if (quantization !== undefined && !QUANTIZATIONS.includes(quantization))
    throw new InvalidCommandError('options.quantization', `must be one of ${QUANTIZATIONS.join(', ')}`)
  if (connectivity !== undefined) checkInt('options.connectivity', connectivity, 2, 256)
  if (expansionAdd !== undefined) checkInt('options.expansionAdd', expansionAdd, 1, 1 << 16)
  if (expansionSearch !== undefined) checkInt('options.expansionSearch', expansionSearch, 1, 1 << 16)
  const current = state.collectionOptions(name)
  if (current && !sameOptions(current, options)) throw new CollectionExistsError('name', name)
}

/** Two creates agree when every option either sets agrees (unset means the default). */
export function sameOptions(a: CollectionOptions, b: CollectionOptions): boolean {
  const x = withDefaults(a)
  const y = withDefaults(b)
  const keys = [
    'dimensions',
    'metric',
    'quantization',
    'connectivity',
    'expansionAdd',
    'expansionSearch',
  ] as const
  return keys.every((k) => x[k] === y[k])
}

/** Options with every default filled in: what a collection stores and snapshots. */
export function withDefaults(o: CollectionOptions): Required<CollectionOptions> {
  return {
    dimensions: o.dimensions,
    metric: o.metric,
    quantization: o.quantization ?? INDEX_DEFAULTS.quantization,
    connectivity: o.connectivity ?? INDEX_DEFAULTS.connectivity,
    expansionAdd: o.expansionAdd ?? INDEX_DEFAULTS.expansionAdd,
    expansionSearch: o.expansionSearch ?? INDEX_DEFAULTS.expansionSearch,
  }
}

function existing(state: StateView, name: string): CollectionOptions {
  checkName('collection', name)
  const options = state.collectionOptions(name)
  if (!options) throw new UnknownCollectionError('collection', name)
  return options
}

function checkName(field: string, name: unknown): void {
  if (typeof name !== 'string' || !NAME.test(name))
    throw new InvalidNameError(field, 'must be 1..64 characters of A-Z a-z 0-9 _ . -')
}

function checkInt(field: string, value: unknown, min: number, max: number): void {
  if (!Number.isInteger(value) || (value as number) < min || (value as number) > max)
    throw new InvalidCommandError(field, `must be an integer in ${min}..${max}, got ${String(value)}`)
}

function checkBatch(field: string, n: number, limits: Limits): void {
  if (n > limits.maxBatch)
    throw new InvalidCommandError(field, `${n} entries; at most ${limits.maxBatch} per command`)
}

export function checkId(field: string, id: unknown, limits: Limits): void {
  if (typeof id !== 'string' || id.length === 0) throw new InvalidIdError(field, 'must be a non-empty string')
  // A lone surrogate decodes as U+FFFD: two such ids would collide on every replica.
  checkText(field, id)
  const bytes = utf8Length(id)
  if (bytes > limits.maxIdBytes)
    throw new InvalidIdError(field, `is ${bytes} bytes; the limit is ${limits.maxIdBytes}`)
}

/** A vector of the collection's size whose components its storage type represents. */
export function checkVector(
  field: string,
  vector: unknown,
  options: Pick<CollectionOptions, 'dimensions' | 'quantization'>,
): void {
  const { dimensions } = options
  if (!(vector instanceof Float32Array)) throw new InvalidCommandError(field, 'must be a Float32Array')
  if (vector.length !== dimensions) throw new DimensionMismatchError(field, dimensions, vector.length)
  const quantization = options.quantization ?? INDEX_DEFAULTS.quantization
  const limit = VECTOR_RANGE[quantization]
  for (let i = 0; i < vector.length; i++) {
    const x = vector[i]
    if (!Number.isFinite(x)) throw new NonFiniteError(`${field}[${i}]`, x)
    if (x > limit || x < -limit) throw new OutOfRangeError(`${field}[${i}]`, x, quantization, limit)
  }
}

/** A plain map of storable values (see checkPlainValue), within the size and depth limits. */
export function checkMetadata(
  field: string,
  metadata: unknown,
  limits: Limits,
): asserts metadata is Metadata {
  if (
    typeof metadata !== 'object' ||
    metadata === null ||
    Array.isArray(metadata) ||
    ArrayBuffer.isView(metadata)
  )
    throw new InvalidMetadataError(field, 'must be a map with string keys')
  checkPlainValue(field, metadata, limits.maxMetadataDepth)
  // Plain, bounded values always encode; a failure here is local and must not become a verdict.
  const bytes = encodeCbor(metadata).length
  if (bytes > limits.maxMetadataBytes) throw new MetadataTooLargeError(field, bytes, limits.maxMetadataBytes)
}
