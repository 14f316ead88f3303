/**
 * The divergence test's log: a seeded stream of committed entries, the same bytes in Node and
 * in a browser, mixing ordinary writes with what a poisoned log or a careless client holds:
 * oversized and deeply nested metadata, odd and ill-formed unicode, `__proto__` keys, -0,
 * tags, garbage, values at the edge of each storage type, retried and reused sessions.
 */
import { encodeCbor } from '../../src/codec/index.js'
import { hash64 } from '../../src/state/hash.js'
import {
  type ApplyResult,
  type Command,
  encodeCommand,
  FailStopError,
  type Metadata,
  type StateMachine,
  stateDigest,
} from '../../src/state/index.js'
import { rng } from '../vector/data.js'

const COLLECTIONS = {
  a: { dimensions: 4, metric: 'cos', quantization: 'f32' },
  h: { dimensions: 3, metric: 'l2sq', quantization: 'f16' },
  q: { dimensions: 5, metric: 'ip', quantization: 'i8' },
} as const
type Name = keyof typeof COLLECTIONS

const IDS = [
  'p0',
  'p1',
  'p2',
  'p3',
  'p4',
  'p5',
  'é',
  'e\u0301',
  '😀',
  '\ufffd',
  'a\u0000b',
  '𝔘𝔫𝔦',
  'x'.repeat(257),
]
const CLIENTS = ['c1', 'c2', 'c3', 'ü-client', 'x'.repeat(129)]

// Byte patches applied after encoding: what no well-behaved encoder writes.
const LONE_SURROGATE = { marker: 'ZQ1', bytes: [0xed, 0xa0, 0x80] }
const PROTO_KEY = { marker: '__proto_Z', bytes: [...new TextEncoder().encode('__proto__')] }
// 1.25 as CBOR f64 becomes -0.
const MINUS_ZERO = { marker: [0xfb, 0x3f, 0xf4, 0, 0, 0, 0, 0, 0], bytes: [0xfb, 0x80, 0, 0, 0, 0, 0, 0, 0] }

function replace(bytes: Uint8Array, find: readonly number[], put: readonly number[]): Uint8Array {
  const out = new Uint8Array(bytes)
  for (let i = 0; i + find.length <= out.length; i++)
    if (find.every((b, j) => out[i + j] === b)) {
      out.set(put, i)
      return out
    }
  throw new Error('marker not found')
}

const utf8 = (s: string) => [...new TextEncoder().encode(s)]

export function divergenceStream(seed: number, n: number): Uint8Array[] {
  const r = rng(seed)
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]
  const chance = (p: number) => r() < p
  const seqs = new Map<string, number>()
  const out: Uint8Array[] = []

  const component = (name: Name): number => {
    const q = COLLECTIONS[name].quantization
    if (chance(0.04))
      return pick(q === 'f16' ? [65504, -65504, 65505, 70000, 1e-8] : [1e17, -1e17, 1e18, 1e-40])
    return Math.fround(r() * 4 - 2)
  }
  const metadata = (): Metadata | undefined => {
    const roll = r()
    if (roll < 0.2) return undefined
    if (roll < 0.25) return { big: 'y'.repeat(17_000) }
    if (roll < 0.3) {
      let v: Metadata = { leaf: 1 }
      for (let d = pick([14, 15, 16, 17, 40, 600]); d > 1; d--) v = { x: v }
      return v
    }
    if (roll < 0.35)
      return { s: pick(['😀', 'e\u0301', '\ufffd', 'a\u0000', '\u200b', 'ZQ1', `\ufeff${'b'.repeat(80)}`]) }
    if (roll < 0.4) return { __proto_Z: { a: 1 }, ok: true }
    if (roll < 0.44) return { z: 1.25 }
    if (roll < 0.5) return { bytes: new Uint8Array([1, 2, 3]), list: [1, 'two', null, [false]] }
    return { n: Math.floor(r() * 100), tag: pick(['red', 'green', 'blue']), constructor: 'x' }
  }
  const command = (): Command => {
    const name = pick(Object.keys(COLLECTIONS) as Name[])
    const roll = r()
    if (roll < 0.08)
      return {
        op: 'create',
        name,
        options: chance(0.1) ? { dimensions: 9, metric: 'cos' } : COLLECTIONS[name],
      }
    if (roll < 0.1) return { op: 'drop', name }
    if (roll < 0.6) {
      const ids = new Set(Array.from({ length: 1 + Math.floor(r() * 4) }, () => pick(IDS)))
      return {
        op: 'upsert',
        collection: name,
        items: [...ids].map((id) => ({
          id,
          vector: Float32Array.from({ length: chance(0.03) ? 2 : COLLECTIONS[name].dimensions }, () =>
            component(name),
          ),
          metadata: metadata(),
        })),
      }
    }
    if (roll < 0.75) return { op: 'update', collection: name, id: pick(IDS), metadata: metadata() ?? {} }
    if (roll < 0.95) return { op: 'delete', collection: name, ids: [pick(IDS), pick(IDS)] }
    return { op: 'compact', collection: name }
  }
  const poison = (bytes: Uint8Array): Uint8Array => {
    let b = bytes
    const has = (marker: readonly number[]) => {
      try {
        replace(b, marker, marker)
        return true
      } catch {
        return false
      }
    }
    if (has(utf8(LONE_SURROGATE.marker))) b = replace(b, utf8(LONE_SURROGATE.marker), LONE_SURROGATE.bytes)
    if (has(utf8(PROTO_KEY.marker))) b = replace(b, utf8(PROTO_KEY.marker), PROTO_KEY.bytes)
    if (has(MINUS_ZERO.marker)) b = replace(b, MINUS_ZERO.marker, MINUS_ZERO.bytes)
    return b
  }

  for (let i = 0; i < n; i++) {
    const roll = r()
    if (roll < 0.03) out.push(new Uint8Array())
    else if (roll < 0.09 && out.length > 0)
      out.push(pick(out.slice(-20))) // a retry, or a replay
    else if (roll < 0.11)
      out.push(
        pick([
          new Uint8Array([0xff, 0x00]),
          encodeCbor({ v: 1, op: 'drop', name: new Date(0) }),
          encodeCommand({ op: 'compact', collection: 'a' }).subarray(0, 9),
        ]),
      )
    else {
      const cmd = command()
      if (chance(0.4)) {
        const client = pick(CLIENTS)
        const last = seqs.get(client) ?? 0
        // Now and then a client reuses its last number for another command.
        const seq = chance(0.08) && last > 0 ? last : last + 1
        seqs.set(client, seq)
        cmd.session = { client, seq }
      }
      out.push(poison(encodeCommand(cmd)))
    }
  }
  return out
}

/** What one replica made of the stream. */
export interface Replay {
  results: ApplyResult[]
  digest: string
  /** Set when the replica stopped: the entry it could not apply. */
  stoppedAt?: number
  error?: FailStopError
}

/** Applies entries[from..] at indexes from+1..; stops at a FailStopError and says where. */
export function replay(
  sm: StateMachine,
  entries: readonly Uint8Array[],
  from = 0,
  to = entries.length,
): Replay {
  const results: ApplyResult[] = []
  for (let i = from; i < to; i++) {
    try {
      results.push(sm.apply(i + 1, entries[i]))
    } catch (err) {
      if (!(err instanceof FailStopError)) throw err
      return { results, digest: '', stoppedAt: i + 1, error: err }
    }
  }
  return { results, digest: stateDigest(sm) }
}

/** A short fingerprint of a list of results or of the stream itself, to compare across runtimes. */
export const fingerprint = (value: unknown) => hash64(encodeCbor(value))
export const streamFingerprint = (entries: readonly Uint8Array[]) =>
  hash64(encodeCbor(entries.map((e) => hash64(e))))

/** How many results carry each error code (and `ok`): proof the stream exercises each case. */
export function tally(results: readonly ApplyResult[]): Record<string, number> {
  const out: Record<string, number> = {}
  for (const r of results) {
    const key = r.ok ? 'ok' : r.error.code
    out[key] = (out[key] ?? 0) + 1
  }
  return out
}
