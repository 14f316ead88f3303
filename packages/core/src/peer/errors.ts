import type { PeerId } from '../raft/messages.js'

export type PeerErrorCode =
  /** A bounded-staleness read could not be proven fresh enough in time; `stalenessMs` is the bound reached. */
  | 'ERR_STALE'
  /** No leader is known (no quorum, or an election is under way); retry later. */
  | 'ERR_NO_LEADER'
  /** The operation needs the leader; `leader` names it when known. */
  | 'ERR_NOT_LEADER'
  /** The deadline passed; a write may or may not have been applied (retry with the same session). */
  | 'ERR_TIMEOUT'
  /** A witness holds no data: it serves no reads and takes no writes. */
  | 'ERR_WITNESS'
  /** Too many writes pending or the state machine lags; retry after `retryAfterMs`. */
  | 'ERR_BACKPRESSURE'
  /** The peer is closed (or closing). */
  | 'ERR_CLOSED'
  /** The peer stopped after a local failure (storage or state machine); reopen it to recover. */
  | 'ERR_FAILED'
  /** Bad options or arguments; `field` names the culprit. */
  | 'ERR_INVALID'
  /** A membership change or transfer that cannot happen now (e.g. one already in progress). */
  | 'ERR_MEMBERSHIP'

export interface PeerErrorDetails {
  field?: string
  leader?: PeerId
  retryAfterMs?: number
  /** ERR_STALE: the staleness bound this peer could prove (null: none at all). */
  stalenessMs?: number | null
  cause?: unknown
}

/**
 * An operation the peer could not carry out. `code` is stable. Commands the state machine
 * refuses (wrong dimensions, unknown collection...) throw its `StateMachineError` instead, with
 * its own code and `field`.
 */
export class PeerError extends Error {
  readonly code: PeerErrorCode
  readonly field?: string
  readonly leader?: PeerId
  readonly retryAfterMs?: number
  readonly stalenessMs?: number | null

  constructor(code: PeerErrorCode, message: string, details: PeerErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause })
    this.name = 'PeerError'
    this.code = code
    if (details.field !== undefined) this.field = details.field
    if (details.leader) this.leader = details.leader
    if (details.retryAfterMs !== undefined) this.retryAfterMs = details.retryAfterMs
    if (details.stalenessMs !== undefined) this.stalenessMs = details.stalenessMs
  }
}
