import type { Message } from '../raft/messages.js'

/**
 * A hand-written CBOR writer for Raft messages that emits byte for byte what cbor-x emits for the
 * same wire array (minimal-length headers, byte strings untagged), several times faster, and
 * that can leave large byte strings out of its output: they come back as their own parts, so a
 * 64 KiB entry is not copied on its way to the stream. It covers the values Raft sends (uint32
 * numbers, ASCII strings, booleans, byte strings); on anything else it returns undefined and the
 * caller falls back to cbor-x, so the wire format never depends on which path ran.
 */

/** Byte strings at least this long are passed by reference rather than copied. */
export const LARGE_BYTES = 512

const SLAB_BYTES = 64 * 1024

/**
 * Messages are written straight into a shared slab and handed out as views of it; later
 * messages only write past them, so a view is never overwritten. One allocation per many
 * messages instead of one (or an 8 KiB cbor-x buffer every few dozen) each.
 */
let slab = new Uint8Array(SLAB_BYTES)
/** Where the message being written starts, and the write position. */
let start = 0
let pos = 0
/** Referenced byte strings: their offsets in `slab` (the bytes are not written there) and arrays. */
const cuts: number[] = []
const refs: Uint8Array[] = []
let ok = true

/** Makes room for `n` more bytes, moving the message begun so far to a new slab if needed. */
function room(n: number): void {
  if (pos + n <= slab.length) return
  const sofar = pos - start
  const moved = new Uint8Array(Math.max(SLAB_BYTES, (sofar + n) * 2))
  moved.set(slab.subarray(start, pos))
  for (let i = 0; i < cuts.length; i++) cuts[i] -= start
  slab = moved
  start = 0
  pos = sofar
}

/** A major type with its argument, in the shortest form (as cbor-x). */
function head(major: number, n: number): void {
  room(5)
  const m = major << 5
  if (n < 0x18) slab[pos++] = m | n
  else if (n < 0x100) {
    slab[pos++] = m | 0x18
    slab[pos++] = n
  } else if (n < 0x10000) {
    slab[pos++] = m | 0x19
    slab[pos++] = n >> 8
    slab[pos++] = n & 0xff
  } else {
    slab[pos++] = m | 0x1a
    slab[pos++] = n >>> 24
    slab[pos++] = (n >> 16) & 0xff
    slab[pos++] = (n >> 8) & 0xff
    slab[pos++] = n & 0xff
  }
}

function uint(v: unknown): void {
  // cbor-x writes only 32-bit non-negative integers as plain uints; leave the rest to it.
  if (typeof v === 'number' && v >>> 0 === v) head(0, v)
  else ok = false
}

function optUint(v: unknown): void {
  if (v === undefined || v === null) nil()
  else uint(v)
}

function nil(): void {
  room(1)
  slab[pos++] = 0xf6
}

function bool(v: unknown): void {
  if (typeof v !== 'boolean') {
    ok = false
    return
  }
  room(1)
  slab[pos++] = v ? 0xf5 : 0xf4
}

/** The last few strings written and their encodings: a Raft peer writes the same ids over and over. */
const CACHED = 8
const cachedStr: string[] = []
const cachedBytes: Uint8Array[] = []
let cacheNext = 0

function str(v: unknown): void {
  if (typeof v !== 'string') {
    ok = false
    return
  }
  for (let i = 0; i < cachedStr.length; i++) {
    if (cachedStr[i] === v) {
      const b = cachedBytes[i]
      room(b.byteLength)
      slab.set(b, pos)
      pos += b.byteLength
      return
    }
  }
  // Relative to the message's start: room() may move the message to a new slab.
  const from = pos - start
  const n = v.length
  head(3, n)
  room(n)
  for (let i = 0; i < n; i++) {
    const c = v.charCodeAt(i)
    // Non-ASCII: cbor-x's UTF-8 for lone surrogates differs by string length; let it decide.
    if (c >= 0x80) {
      ok = false
      return
    }
    slab[pos++] = c
  }
  if (n >= 8 && n <= 128) {
    cachedStr[cacheNext] = v
    cachedBytes[cacheNext] = slab.slice(start + from, pos)
    cacheNext = (cacheNext + 1) % CACHED
  }
}

function bytes(v: unknown): void {
  if (!(v instanceof Uint8Array)) {
    ok = false
    return
  }
  const n = v.byteLength
  head(2, n)
  if (n >= LARGE_BYTES) {
    cuts.push(pos)
    refs.push(v)
    return
  }
  room(n)
  slab.set(v, pos)
  pos += n
}

function strings(list: unknown): void {
  if (!Array.isArray(list)) {
    ok = false
    return
  }
  head(4, list.length)
  for (const s of list) str(s)
}

function message(m: Message): void {
  head(4, 14)
  head(0, 1) // MESSAGE_CODEC_VERSION
  uint(m.type)
  str(m.from)
  str(m.to)
  uint(m.term)
  optUint(m.logTerm)
  optUint(m.index)
  if (m.entries) {
    if (!Array.isArray(m.entries)) ok = false
    else {
      head(4, m.entries.length)
      for (const e of m.entries) {
        head(4, 4)
        uint(e.term)
        uint(e.index)
        uint(e.type)
        bytes(e.data)
      }
    }
  } else nil()
  optUint(m.commit)
  if (m.reject === undefined || m.reject === null) nil()
  else bool(m.reject)
  optUint(m.rejectHint)
  const s = m.snapshot
  if (s) {
    const c = s.meta.conf
    head(4, 4)
    head(4, 3)
    uint(s.meta.index)
    uint(s.meta.term)
    head(4, 6)
    strings(c.voters)
    strings(c.outgoing)
    strings(c.learners)
    strings(c.learnersNext)
    strings(c.witnesses)
    bool(c.autoLeave)
    uint(s.offset)
    uint(s.total)
    bytes(s.data)
  } else nil()
  if (m.context === undefined || m.context === null) nil()
  else bytes(m.context)
  optUint(m.dataMatch)
}

/**
 * The CBOR encoding of `m` as parts to be written in order (their concatenation is exactly
 * cbor-x's output), or undefined when a value is outside what this writer covers.
 */
export function writeMessageParts(m: Message): Uint8Array[] | undefined {
  if (slab.length - pos < 1024) {
    slab = new Uint8Array(SLAB_BYTES)
    pos = 0
  }
  start = pos
  ok = true
  cuts.length = 0
  refs.length = 0
  try {
    message(m)
  } catch {
    ok = false // e.g. a field of a malformed message is missing: let cbor-x report it
  }
  if (!ok) {
    pos = start
    refs.length = 0
    return undefined
  }
  let parts: Uint8Array[]
  if (cuts.length === 0) parts = [slab.subarray(start, pos)]
  else {
    parts = []
    let from = start
    for (let i = 0; i < cuts.length; i++) {
      if (cuts[i] > from) parts.push(slab.subarray(from, cuts[i]))
      parts.push(refs[i])
      from = cuts[i]
    }
    if (pos > from) parts.push(slab.subarray(from, pos))
    refs.length = 0
  }
  return parts
}
