import { InvalidMetadataError, NotRoundTripError, TooDeepError } from './errors.js'

/**
 * Metadata is JSON-like plus byte strings: plain maps, arrays, well-formed strings, finite
 * numbers other than -0, booleans, null, undefined and Uint8Array. That is what CBOR carries
 * back unchanged, so the proposer's object, the log entry and every replica's copy agree.
 * Checked without recursion, so a deep value is refused the same way on any stack.
 */
export function checkPlainValue(field: string, value: unknown, maxDepth: number): void {
  const stack: [unknown, string, number][] = [[value, field, 1]]
  while (stack.length > 0) {
    const [v, at, depth] = stack.pop()!
    if (v === null || v === undefined || typeof v === 'boolean') continue
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw new InvalidMetadataError(at, `number ${v} is not finite`)
      if (Object.is(v, -0)) throw new NotRoundTripError(at, '-0 is stored as 0')
      continue
    }
    if (typeof v === 'string') {
      checkText(at, v)
      continue
    }
    if (v instanceof Uint8Array) continue
    if (typeof v !== 'object' || ArrayBuffer.isView(v))
      throw new InvalidMetadataError(at, `a ${describe(v)} is not storable metadata`)
    if (depth > maxDepth) throw new TooDeepError(at, maxDepth)
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], `${at}[${i}]`, depth + 1])
      continue
    }
    const proto = Object.getPrototypeOf(v)
    if (proto !== Object.prototype && proto !== null)
      throw new InvalidMetadataError(at, `a ${describe(v)} is not a plain map`)
    for (const key of Object.keys(v)) {
      if (key === '__proto__') throw new NotRoundTripError(`${at}.${key}`, 'the key "__proto__" is renamed')
      checkText(at, key)
      stack.push([(v as Record<string, unknown>)[key], `${at}.${key}`, depth + 1])
    }
  }
}

/** A deep copy of a checked value: plain objects and arrays, byte strings as plain Uint8Array. */
export function clonePlain<T>(value: T): T {
  if (value === null || typeof value !== 'object') return value
  if (value instanceof Uint8Array) return new Uint8Array(value) as T // a Buffer becomes a plain copy
  if (Array.isArray(value)) return value.map(clonePlain) as T
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(value)) out[key] = clonePlain((value as Record<string, unknown>)[key])
  return out as T
}

/** Deep equality as CBOR sees it: -0 differs from 0, bytes compare by content. */
export function samePlain(a: unknown, b: unknown): boolean {
  if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null) return Object.is(a, b)
  if (ArrayBuffer.isView(a) || ArrayBuffer.isView(b)) {
    if (!ArrayBuffer.isView(a) || !ArrayBuffer.isView(b)) return false
    // A Buffer is a Uint8Array; any other view must keep its type (vectors stay Float32Array).
    if (!(a instanceof Uint8Array && b instanceof Uint8Array) && a.constructor !== b.constructor) return false
    return sameBytes(a, b)
  }
  if (Array.isArray(a) !== Array.isArray(b)) return false
  const ka = Object.keys(a)
  const kb = Object.keys(b)
  if (ka.length !== kb.length) return false
  for (let i = 0; i < ka.length; i++)
    if (ka[i] !== kb[i] || !samePlain((a as never)[ka[i]], (b as never)[kb[i]])) return false
  return true
}

function sameBytes(a: ArrayBufferView, b: ArrayBufferView): boolean {
  if (a.byteLength !== b.byteLength) return false
  // Word by word where both are aligned (a vector is): the same verdict, a quarter of the steps.
  if (a.byteOffset % 4 === 0 && b.byteOffset % 4 === 0 && a.byteLength % 4 === 0) {
    const x = new Int32Array(a.buffer, a.byteOffset, a.byteLength / 4)
    const y = new Int32Array(b.buffer, b.byteOffset, b.byteLength / 4)
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false
    return true
  }
  const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength)
  const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength)
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false
  return true
}

/**
 * Text every decoder reads back alike: no lone surrogate (it decodes as U+FFFD), and no leading
 * U+FEFF (the TextDecoder behind long strings drops it; shorter ones and native decoders keep it).
 */
export function checkText(field: string, s: string): void {
  if (!isWellFormed(s)) throw new NotRoundTripError(field, 'holds a lone surrogate')
  if (s.charCodeAt(0) === 0xfeff)
    throw new NotRoundTripError(field, 'starts with U+FEFF, which decoders drop')
}

/** True when the string has no lone surrogate (String.prototype.isWellFormed is too new). */
export function isWellFormed(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0xd800 || c > 0xdfff) continue
    if (c > 0xdbff || i + 1 === s.length) return false
    const next = s.charCodeAt(i + 1)
    if (next < 0xdc00 || next > 0xdfff) return false
    i++
  }
  return true
}

/** Bytes of `s` in UTF-8, as TextEncoder counts them (a lone surrogate as U+FFFD), without encoding it. */
export function utf8Length(s: string): number {
  let n = s.length
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x80) continue
    if (c < 0x800) n += 1
    else {
      // 3 bytes for one code unit; a surrogate pair is 2 code units and 4 bytes, and a lone
      // surrogate is U+FFFD, 3 bytes.
      n += 2
      const next = s.charCodeAt(i + 1)
      if (c >= 0xd800 && c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) i++
    }
  }
  return n
}

function describe(v: unknown): string {
  if (typeof v !== 'object') return typeof v
  return (v as object).constructor?.name ?? 'object'
}
