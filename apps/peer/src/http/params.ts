import type { Consistency, ReadInfo, ReadOptions, SessionId, WriteOptions } from '@flotilla/core'
import type { Context } from 'hono'
import { badInput } from './errors.js'

/** Headers a client sets to make a write exactly-once across retries. */
export const CLIENT_HEADER = 'flotilla-client-id'
export const SEQ_HEADER = 'flotilla-seq'

/** Headers every read answers with. */
export const READ_HEADERS = {
  index: 'Flotilla-Read-Index',
  staleness: 'Flotilla-Staleness-Ms',
  consistency: 'Flotilla-Consistency',
  peer: 'Flotilla-Served-By',
} as const

function nonNegativeInt(c: Context, name: string): number | undefined {
  const raw = c.req.query(name)
  if (raw === undefined || raw === '') return undefined
  const n = Number(raw)
  if (!Number.isSafeInteger(n) || n < 0) throw badInput(name, `must be a non-negative integer, got "${raw}"`)
  return n
}

const LEVELS = ['linearizable', 'lease', 'local', 'bounded']

/** `?consistency=linearizable|lease|local|bounded&maxStalenessMs=N&minIndex=N&timeoutMs=N`. */
export function readOptions(c: Context): ReadOptions {
  const level = c.req.query('consistency')
  const maxStalenessMs = nonNegativeInt(c, 'maxStalenessMs')
  if (level !== undefined && !LEVELS.includes(level)) {
    throw badInput('consistency', `must be one of ${LEVELS.join(', ')}, got "${level}"`)
  }
  let consistency: Consistency | undefined
  if (maxStalenessMs !== undefined) {
    if (level !== undefined && level !== 'bounded') {
      throw badInput('maxStalenessMs', `goes with consistency=bounded, not "${level}"`)
    }
    consistency = { maxStalenessMs }
  } else if (level === 'bounded') {
    throw badInput('maxStalenessMs', 'consistency=bounded needs maxStalenessMs')
  } else if (level !== undefined) {
    consistency = level as Consistency
  }
  const options: ReadOptions = {}
  if (consistency !== undefined) options.consistency = consistency
  const minIndex = nonNegativeInt(c, 'minIndex')
  if (minIndex !== undefined) options.minIndex = minIndex
  const timeoutMs = nonNegativeInt(c, 'timeoutMs')
  if (timeoutMs !== undefined) options.timeoutMs = timeoutMs
  return options
}

/** `Flotilla-Client-Id` + `Flotilla-Seq` headers (both or neither) and `?timeoutMs=N`. */
export function writeOptions(c: Context): WriteOptions {
  const options: WriteOptions = {}
  const timeoutMs = nonNegativeInt(c, 'timeoutMs')
  if (timeoutMs !== undefined) options.timeoutMs = timeoutMs
  const client = c.req.header(CLIENT_HEADER)
  const seqRaw = c.req.header(SEQ_HEADER)
  if (client === undefined && seqRaw === undefined) return options
  if (!client) throw badInput(CLIENT_HEADER, `is required with ${SEQ_HEADER}`)
  const seq = Number(seqRaw)
  if (seqRaw === undefined || seqRaw === '' || !Number.isSafeInteger(seq) || seq < 0) {
    throw badInput(SEQ_HEADER, `must be a non-negative integer, got "${seqRaw ?? ''}"`)
  }
  const session: SessionId = { client, seq }
  options.session = session
  return options
}

/** Sets the read headers: the index served, the proven staleness bound, the level, the peer. */
export function setReadHeaders(c: Context, info: ReadInfo): void {
  c.header(READ_HEADERS.index, String(info.index))
  // Whole milliseconds, rounded up: a bound rounded down would claim more than was proven.
  const staleness = info.stalenessMs === null ? 'unbounded' : String(Math.ceil(info.stalenessMs))
  c.header(READ_HEADERS.staleness, staleness)
  c.header(READ_HEADERS.consistency, info.consistency)
  c.header(READ_HEADERS.peer, info.peer)
}

/** The JSON body as an object, or 400 naming `body`; `optional`: an empty body is `{}`. */
export async function jsonBody(c: Context, { optional = false } = {}): Promise<Record<string, unknown>> {
  let body: unknown
  try {
    const text = await c.req.text()
    body = optional && text.trim() === '' ? {} : JSON.parse(text)
  } catch (error) {
    throw badInput('body', `malformed JSON (${(error as Error).message})`)
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw badInput('body', 'must be a JSON object')
  }
  return body as Record<string, unknown>
}

/** A numeric array at `field` (the peer checks dimensions and finiteness). */
export function vectorAt(value: unknown, field: string): number[] {
  if (!Array.isArray(value)) throw badInput(field, 'must be an array of numbers')
  for (let i = 0; i < value.length; i++) {
    if (typeof value[i] !== 'number') throw badInput(`${field}[${i}]`, 'must be a number')
  }
  return value as number[]
}

export function objectAt(value: unknown, field: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw badInput(field, 'must be a JSON object')
  }
  return value as Record<string, unknown>
}

export function stringAt(value: unknown, field: string): string {
  if (typeof value !== 'string' || value === '') throw badInput(field, 'must be a non-empty string')
  return value
}
