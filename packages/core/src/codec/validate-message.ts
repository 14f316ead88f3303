import type { ConfState, Entry, Message, SnapshotChunk } from '../raft/messages.js'
import { MessageType } from '../raft/messages.js'
import { isWireInt } from './message-codec.js'

/** Why a message from the network was refused before Raft saw it. */
export type InvalidMessageReason =
  /** Hup, Beat, Unreachable or an unknown type: only the peer itself may step these. */
  | 'local-type'
  /** A peer id is not a non-empty string. */
  | 'bad-peer'
  /** A term, index, commit or hint is not a safe non-negative integer. */
  | 'bad-number'
  /** Term 0 on a message that is not a forwarded request, or a term on one that is. */
  | 'bad-term'
  /** Entries that do not follow `index` one by one, or whose terms go backwards. */
  | 'bad-entries'
  /** Snapshot chunk with missing or inconsistent metadata, offset or size. */
  | 'bad-snapshot'
  /** Snapshot larger than `maxSnapshotBytes`. */
  | 'snapshot-too-large'
  /** Membership that no leader could have sent: no voters, duplicates, stray witnesses. */
  | 'bad-conf'
  /** Context bytes over `maxContextBytes`. */
  | 'bad-context'

export interface InvalidMessage {
  reason: InvalidMessageReason
  /** Names the field at fault. */
  detail: string
}

export interface MessageLimits {
  /** Largest snapshot a peer accepts (the `total` of its chunks). Default 1 GiB. */
  maxSnapshotBytes: number
  /** Largest ReadIndex / heartbeat context. Default 1 KiB. */
  maxContextBytes: number
  /** Most peer ids in one membership list. Default 1024. */
  maxMembers: number
}

export const DEFAULT_MESSAGE_LIMITS: MessageLimits = {
  maxSnapshotBytes: 1024 * 1024 * 1024,
  maxContextBytes: 1024,
  maxMembers: 1024,
}

/** Thrown by `assertValidMessage`. */
export class MessageValidationError extends Error {
  readonly code = 'ERR_INVALID_MESSAGE'
  constructor(
    readonly reason: InvalidMessageReason,
    detail: string,
  ) {
    super(`invalid message: ${detail}`)
    this.name = 'MessageValidationError'
  }
}

/** Requests a follower forwards to its leader with term 0 (Raft's "local or forwarded"). */
const isForwarded = (type: number): boolean =>
  type === MessageType.Prop || type === MessageType.ReadIndex || type === MessageType.TransferLeader
const isLocalOnly = (type: number): boolean =>
  type === MessageType.Hup || type === MessageType.Beat || type === MessageType.Unreachable
/** An optional number: absent, or a safe non-negative integer. */
const optionalInt = (v: number | undefined): boolean => v === undefined || isWireInt(v)

const fail = (reason: InvalidMessageReason, detail: string): InvalidMessage => ({ reason, detail })

const isPeerId = (v: unknown): v is string => typeof v === 'string' && v.length > 0
const isObject = (v: unknown): v is object => typeof v === 'object' && v !== null

/**
 * Checks a message that arrived from another peer, before Raft steps it: every number a safe
 * non-negative integer, term 0 only on forwarded requests, appended entries consecutive from
 * `index + 1` with terms in order, snapshot chunks within a sane, capped size and with a
 * membership a leader could have sent. Returns why it is invalid, or null; never throws.
 */
export function validateMessage(
  m: Message,
  limits: MessageLimits = DEFAULT_MESSAGE_LIMITS,
): InvalidMessage | null {
  if (!isWireInt(m.type) || m.type > MessageType.Unreachable || isLocalOnly(m.type)) {
    return fail('local-type', `type ${String(m.type)} may not come from the network`)
  }
  if (!isPeerId(m.from) || !isPeerId(m.to)) return fail('bad-peer', 'from/to')
  if (!isWireInt(m.term)) return fail('bad-number', 'term')
  if (isForwarded(m.type) !== (m.term === 0)) {
    return fail('bad-term', `term ${m.term} on message type ${m.type}`)
  }
  if (
    !optionalInt(m.logTerm) ||
    !optionalInt(m.index) ||
    !optionalInt(m.commit) ||
    !optionalInt(m.rejectHint) ||
    !optionalInt(m.dataMatch)
  ) {
    return fail('bad-number', 'logTerm, index, commit, rejectHint or dataMatch')
  }
  if (m.context !== undefined) {
    if (!(m.context instanceof Uint8Array)) return fail('bad-context', 'context is not bytes')
    if (m.context.byteLength > limits.maxContextBytes) return fail('bad-context', 'context too long')
  }
  if (m.entries !== undefined) {
    const bad = m.type === MessageType.App ? checkAppended(m, m.entries) : checkEntries(m.entries)
    if (bad) return bad
  }
  if (m.type === MessageType.Snap && !m.snapshot) return fail('bad-snapshot', 'Snap without a chunk')
  if (m.snapshot !== undefined) return checkChunk(m, m.snapshot, limits)
  return null
}

/** As `validateMessage`, throwing MessageValidationError. */
export function assertValidMessage(m: Message, limits?: MessageLimits): void {
  const bad = validateMessage(m, limits)
  if (bad) throw new MessageValidationError(bad.reason, bad.detail)
}

function checkEntries(entries: Entry[]): InvalidMessage | null {
  if (!Array.isArray(entries)) return fail('bad-entries', 'entries is not a list')
  for (const e of entries) {
    const bad = checkEntry(e)
    if (bad) return bad
  }
  return null
}

function checkEntry(e: Entry): InvalidMessage | null {
  if (!isObject(e)) return fail('bad-entries', 'entry is not a record')
  if (!isWireInt(e.term) || !isWireInt(e.index)) return fail('bad-number', 'entry term/index')
  if (e.type !== 0 && e.type !== 1) return fail('bad-entries', 'entry type')
  if (!(e.data instanceof Uint8Array)) return fail('bad-entries', 'entry data is not bytes')
  return null
}

/** Entries of an append: at `index + 1, + 2, ...`, terms from `logTerm` up to the leader's. */
function checkAppended(m: Message, entries: Entry[]): InvalidMessage | null {
  if (!Array.isArray(entries)) return fail('bad-entries', 'entries is not a list')
  const from = m.index ?? 0
  let prevTerm = m.logTerm ?? 0
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]
    const bad = checkEntry(e)
    if (bad) return bad
    if (e.index !== from + 1 + i)
      return fail('bad-entries', `entry ${i} has index ${e.index}, not ${from + 1 + i}`)
    if (e.term < prevTerm || e.term > m.term || e.term === 0) {
      return fail('bad-entries', `entry ${e.index} has term ${e.term}`)
    }
    prevTerm = e.term
  }
  return null
}

function checkChunk(m: Message, c: SnapshotChunk, limits: MessageLimits): InvalidMessage | null {
  if (!isObject(c)) return fail('bad-snapshot', 'chunk is not a record')
  const { meta } = c
  if (!isObject(meta) || !isWireInt(meta.index) || !isWireInt(meta.term))
    return fail('bad-number', 'snapshot index/term')
  if (!isWireInt(c.offset) || !isWireInt(c.total)) return fail('bad-number', 'snapshot offset/total')
  if (!(c.data instanceof Uint8Array)) return fail('bad-snapshot', 'snapshot data is not bytes')
  // Raft's chunk request form (no bytes yet) never travels: a peer sends the bytes.
  if (c.length !== undefined) return fail('bad-snapshot', 'a chunk request, not a chunk')
  // A founding log starts from a snapshot at index 1, term 1: nothing below that is real.
  if (meta.index < 1 || meta.term < 1 || meta.term > m.term) {
    return fail('bad-snapshot', `snapshot at index ${meta.index}, term ${meta.term} from term ${m.term}`)
  }
  if (c.total > limits.maxSnapshotBytes) {
    return fail('snapshot-too-large', `snapshot total ${c.total} > ${limits.maxSnapshotBytes}`)
  }
  // total 0 is a metadata-only snapshot (a founding one, or one sent to a witness): one chunk.
  if (c.offset + c.data.byteLength > c.total || (c.total > 0 && c.data.byteLength === 0)) {
    return fail('bad-snapshot', `chunk [${c.offset}, +${c.data.byteLength}) of ${c.total} bytes`)
  }
  return checkConf(meta.conf, limits)
}

function checkConf(conf: ConfState, limits: MessageLimits): InvalidMessage | null {
  if (!isObject(conf)) return fail('bad-conf', 'snapshot has no membership')
  const lists = [conf.voters, conf.outgoing, conf.learners, conf.learnersNext, conf.witnesses]
  for (const list of lists) {
    if (!Array.isArray(list) || list.length > limits.maxMembers) return fail('bad-conf', 'membership list')
    if (!list.every(isPeerId) || new Set(list).size !== list.length) {
      return fail('bad-conf', 'membership list has an empty or repeated id')
    }
  }
  if (conf.voters.length === 0) return fail('bad-conf', 'no voters')
  const voters = new Set([...conf.voters, ...conf.outgoing])
  if (conf.witnesses.some((id) => !voters.has(id))) return fail('bad-conf', 'a witness is not a voter')
  if (conf.learners.some((id) => conf.voters.includes(id)))
    return fail('bad-conf', 'a learner is also a voter')
  return null
}
