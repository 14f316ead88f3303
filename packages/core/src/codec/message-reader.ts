import type { ConfState, Entry, Message, MessageType, SnapshotChunk } from '../raft/messages.js'

/**
 * A hand-written reader for the common shape of a Raft message frame: definite-length arrays,
 * uints up to 32 bits, ASCII strings, byte strings, null and booleans, exactly filling the
 * frame. Anything else (floats, tags, non-ASCII text, odd values, trailing bytes, truncation)
 * makes it return undefined, and the caller decodes with cbor-x, which decides what is valid;
 * so for any frame this reader accepts, the result equals cbor-x's path.
 */

const EMPTY = new Uint8Array(0)
let src: Uint8Array = EMPTY
let pos = 0
let end = 0
let bad = false

/** The argument of a header whose major type is `major`; -1 (and `bad`) otherwise. */
function arg(major: number): number {
  if (pos >= end) {
    bad = true
    return -1
  }
  const b = src[pos++]
  if (b >> 5 !== major) {
    bad = true
    return -1
  }
  const info = b & 0x1f
  if (info < 0x18) return info
  if (info === 0x18 && pos + 1 <= end) return src[pos++]
  if (info === 0x19 && pos + 2 <= end) {
    const v = (src[pos] << 8) | src[pos + 1]
    pos += 2
    return v
  }
  if (info === 0x1a && pos + 4 <= end) {
    const v = src[pos] * 0x1000000 + ((src[pos + 1] << 16) | (src[pos + 2] << 8) | src[pos + 3])
    pos += 4
    return v
  }
  bad = true
  return -1
}

function isNull(): boolean {
  if (pos < end && src[pos] === 0xf6) {
    pos++
    return true
  }
  return false
}

function array(n: number): void {
  if (arg(4) !== n) bad = true
}

/** Recently read strings: peer ids recur in every frame, so equal bytes give back one string. */
const CACHED = 8
const cachedStr: string[] = []
const cachedBytes: Uint8Array[] = []
let cacheNext = 0

function str(): string {
  const n = arg(3)
  if (bad || pos + n > end) {
    bad = true
    return ''
  }
  const at = pos
  pos += n
  for (let i = 0; i < cachedBytes.length; i++) {
    const c = cachedBytes[i]
    if (c.length !== n) continue
    let same = true
    for (let k = 0; k < n; k++) {
      if (c[k] !== src[at + k]) {
        same = false
        break
      }
    }
    if (same) return cachedStr[i]
  }
  let s = ''
  for (let k = at; k < at + n; k++) {
    const b = src[k]
    if (b >= 0x80) {
      bad = true
      return ''
    }
    s += String.fromCharCode(b)
  }
  if (n >= 8 && n <= 128) {
    cachedStr[cacheNext] = s
    cachedBytes[cacheNext] = src.slice(at, at + n)
    cacheNext = (cacheNext + 1) % CACHED
  }
  return s
}

function bytes(): Uint8Array {
  const n = arg(2)
  if (bad || pos + n > end) {
    bad = true
    return src
  }
  // A plain Uint8Array view into the frame, as the cbor-x path returns.
  const out = new Uint8Array(src.buffer, src.byteOffset + pos, n)
  pos += n
  return out
}

function bool(): boolean {
  if (pos < end) {
    const b = src[pos]
    if (b === 0xf5 || b === 0xf4) {
      pos++
      return b === 0xf5
    }
  }
  bad = true
  return false
}

function strings(): string[] {
  const n = arg(4)
  if (bad) return []
  const out: string[] = []
  for (let i = 0; i < n && !bad; i++) out.push(str())
  return out
}

function entry(): Entry {
  array(4)
  const term = arg(0)
  const index = arg(0)
  const type = arg(0)
  if (type > 1) bad = true
  return { term, index, type: type as Entry['type'], data: bytes() }
}

function conf(): ConfState {
  array(6)
  return {
    voters: strings(),
    outgoing: strings(),
    learners: strings(),
    learnersNext: strings(),
    witnesses: strings(),
    autoLeave: bool(),
  }
}

function chunk(): SnapshotChunk {
  array(4)
  array(3)
  const index = arg(0)
  const term = arg(0)
  const meta = { index, term, conf: conf() }
  const offset = arg(0)
  const total = arg(0)
  return { meta, offset, total, data: bytes() }
}

/** The message in `frame`, or undefined when the frame is not of the common shape. */
export function readMessage(frame: Uint8Array): Message | undefined {
  src = frame
  pos = 0
  end = frame.byteLength
  bad = false
  array(14)
  if (arg(0) !== 1) bad = true // MESSAGE_CODEC_VERSION; the cbor-x path names the error
  const type = arg(0)
  if (type > 17) bad = true
  const from = str()
  const to = str()
  const term = arg(0)
  if (bad) {
    src = EMPTY
    return undefined
  }
  // Fields are assigned in the order the cbor-x path assigns them (same object shape).
  const msg: Message = { type: type as MessageType, from, to, term }
  if (!isNull()) msg.logTerm = arg(0)
  if (!isNull()) msg.index = arg(0)
  if (!isNull()) {
    const n = arg(4)
    const entries: Entry[] = []
    for (let i = 0; i < n && !bad; i++) entries.push(entry())
    msg.entries = entries
  }
  if (!isNull()) msg.commit = arg(0)
  if (!isNull()) msg.reject = bool()
  if (!isNull()) msg.rejectHint = arg(0)
  if (!isNull()) msg.snapshot = chunk()
  if (!isNull()) msg.context = bytes()
  if (!isNull()) msg.dataMatch = arg(0)
  const whole = !bad && pos === end
  src = EMPTY // hold no frame between calls
  return whole ? msg : undefined
}
