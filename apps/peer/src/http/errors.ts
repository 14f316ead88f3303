import { PeerError, StateMachineError } from '@flotilla/core'

/** A request the HTTP layer refuses before it reaches the peer; `field` names the culprit. */
export class HttpInputError extends Error {
  readonly code: string
  readonly field: string | undefined
  readonly status: 400 | 401 | 404 | 413

  constructor(status: 400 | 401 | 404 | 413, code: string, field: string | undefined, message: string) {
    super(field ? `${field}: ${message}` : message)
    this.name = 'HttpInputError'
    this.status = status
    this.code = code
    this.field = field
  }
}

export const badInput = (field: string, message: string): HttpInputError =>
  new HttpInputError(400, 'ERR_BAD_REQUEST', field, message)

export interface ErrorBody {
  code: string
  message: string
  field?: string
  leader?: string | null
  retryAfterMs?: number
  stalenessMs?: number | null
}

export interface HttpErrorAnswer {
  status: number
  body: { error: ErrorBody }
  headers: Record<string, string>
}

// State-machine refusals: the command was bad (400) or named something absent (404).
const STATE_STATUS: Record<string, number> = {
  ERR_UNKNOWN_COLLECTION: 404,
  ERR_UNKNOWN_ID: 404,
  ERR_COLLECTION_EXISTS: 409,
  ERR_STALE_SESSION: 409,
  ERR_SNAPSHOT: 500,
  ERR_APPLY: 500,
}

const PEER_STATUS: Record<string, number> = {
  ERR_INVALID: 400,
  ERR_BACKPRESSURE: 429,
  ERR_NO_LEADER: 503,
  ERR_NOT_LEADER: 503,
  ERR_STALE: 503,
  ERR_CLOSED: 503,
  ERR_TIMEOUT: 504,
  // A witness holds no data: the request belongs on a data peer. Not 421: fetch clients (Node's
  // undici) retry a 421 on a new connection, which fails for a request whose body was streamed.
  ERR_WITNESS: 409,
  ERR_MEMBERSHIP: 409,
  ERR_FAILED: 500,
}

/** Translates an error thrown by the peer (or the HTTP layer) into a status and a JSON body. */
export function toHttpError(error: unknown, knownLeader: string | null): HttpErrorAnswer {
  if (error instanceof HttpInputError) {
    return answer(error.status, { code: error.code, message: error.message, field: error.field })
  }
  if (error instanceof StateMachineError) {
    const status = STATE_STATUS[error.code] ?? 400
    return answer(status, { code: error.code, message: error.message, field: error.field })
  }
  if (error instanceof PeerError) {
    const status = PEER_STATUS[error.code] ?? 500
    const body: ErrorBody = { code: error.code, message: error.message }
    if (error.field !== undefined) body.field = error.field
    if (status === 503) body.leader = error.leader ?? knownLeader
    if (error.stalenessMs !== undefined) body.stalenessMs = error.stalenessMs
    const headers: Record<string, string> = {}
    if (error.code === 'ERR_BACKPRESSURE') {
      const ms = error.retryAfterMs ?? 1000
      body.retryAfterMs = ms
      // Retry-After counts whole seconds; never 0, which would invite a tight loop.
      headers['Retry-After'] = String(Math.max(1, Math.ceil(ms / 1000)))
    }
    if (status === 503 && error.code !== 'ERR_STALE') headers['Retry-After'] = '1'
    return answer(status, body, headers)
  }
  return answer(500, { code: 'ERR_INTERNAL', message: 'internal error' })
}

function answer(status: number, body: ErrorBody, headers: Record<string, string> = {}): HttpErrorAnswer {
  if (body.field === undefined) delete body.field
  return { status, body: { error: body }, headers }
}
