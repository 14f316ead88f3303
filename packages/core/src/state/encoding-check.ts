import { InvalidCommandError, NotRoundTripError, TooDeepError } from './errors.js'

// "__proto__" as UTF-8: the decoder renames such a key, so no replica may ever see one.
const PROTO_KEY = [0x5f, 0x5f, 0x70, 0x72, 0x6f, 0x74, 0x6f, 0x5f, 0x5f]

interface Open {
  remaining: number
  map: boolean
}

/**
 * Walks an encoded entry without recursion and rejects what the decoder would read differently
 * by platform or by stack depth: nesting past `maxDepth`, ill-formed UTF-8 (decoders differ in
 * how they replace it), tags (dates, sets, bigints, records), indefinite lengths, map keys that
 * are not text or are `__proto__`, trailing bytes. Same bytes, same verdict, on every replica.
 */
export function checkEncoding(bytes: Uint8Array, maxDepth: number): void {
  const stack: Open[] = []
  let at = 0
  const need = (n: number) => {
    if (n > bytes.length - at) throw new InvalidCommandError(undefined, 'entry is truncated')
  }
  for (;;) {
    need(1)
    const initial = bytes[at++]
    const major = initial >> 5
    const info = initial & 31
    const top = stack[stack.length - 1]
    const isKey = top?.map === true && top.remaining % 2 === 0
    if (isKey && major !== 3) throw new InvalidCommandError(undefined, 'map keys must be text')
    let arg: number
    if (info < 24) arg = info
    else if (info <= 27) {
      const size = 1 << (info - 24)
      need(size)
      arg = 0
      for (let i = 0; i < size; i++) arg = arg * 256 + bytes[at + i]
      at += size
    } else throw new InvalidCommandError(undefined, 'indefinite lengths and reserved values are not accepted')
    let container = -1
    switch (major) {
      case 0:
      case 1:
        break
      case 2:
        need(arg)
        at += arg
        break
      case 3:
        need(arg)
        checkUtf8(bytes, at, at + arg)
        // A leading U+FEFF survives some decoders and not others (see checkText).
        if (arg >= 3 && bytes[at] === 0xef && bytes[at + 1] === 0xbb && bytes[at + 2] === 0xbf)
          throw new NotRoundTripError(undefined, 'a text string starts with U+FEFF')
        if (isKey && isProtoKey(bytes, at, arg))
          throw new NotRoundTripError(undefined, 'a map key "__proto__" does not decode as written')
        at += arg
        break
      case 4:
        container = arg
        break
      case 5:
        container = arg * 2
        break
      case 6:
        throw new InvalidCommandError(undefined, `CBOR tag ${arg} is not accepted`)
      default:
        // false, true, null, undefined and floats; other simple values decode differently.
        if (info < 20 || info === 24) throw new InvalidCommandError(undefined, `CBOR simple value ${arg}`)
    }
    if (container >= 0) {
      if (stack.length + 1 > maxDepth) throw new TooDeepError(undefined, maxDepth)
      if (container > 0) {
        stack.push({ remaining: container, map: major === 5 })
        continue
      }
    }
    // One item finished: close every container it completes.
    while (stack.length > 0 && --stack[stack.length - 1].remaining === 0) stack.pop()
    if (stack.length === 0) break
  }
  if (at !== bytes.length) throw new InvalidCommandError(undefined, 'bytes after the end of the entry')
}

function isProtoKey(bytes: Uint8Array, at: number, length: number): boolean {
  if (length !== PROTO_KEY.length) return false
  for (let i = 0; i < length; i++) if (bytes[at + i] !== PROTO_KEY[i]) return false
  return true
}

/** Well-formed UTF-8 only: no overlong forms, no surrogates, nothing past U+10FFFF. */
function checkUtf8(bytes: Uint8Array, start: number, end: number): void {
  let i = start
  while (i < end) {
    const b = bytes[i]
    if (b < 0x80) {
      i++
      continue
    }
    let extra: number
    let lo = 0x80
    let hi = 0xbf
    if (b >= 0xc2 && b <= 0xdf) extra = 1
    else if (b >= 0xe0 && b <= 0xef) {
      extra = 2
      if (b === 0xe0) lo = 0xa0
      if (b === 0xed) hi = 0x9f
    } else if (b >= 0xf0 && b <= 0xf4) {
      extra = 3
      if (b === 0xf0) lo = 0x90
      if (b === 0xf4) hi = 0x8f
    } else throw badUtf8()
    if (i + extra >= end) throw badUtf8()
    const second = bytes[i + 1]
    if (second < lo || second > hi) throw badUtf8()
    for (let j = 2; j <= extra; j++) if ((bytes[i + j] & 0xc0) !== 0x80) throw badUtf8()
    i += extra + 1
  }
}

const badUtf8 = () => new NotRoundTripError(undefined, 'a text string is not well-formed UTF-8')
