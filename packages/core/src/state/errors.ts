export type StateErrorCode =
  | 'ERR_INVALID_COMMAND'
  | 'ERR_INVALID_NAME'
  | 'ERR_INVALID_ID'
  | 'ERR_DIMENSION_MISMATCH'
  | 'ERR_NON_FINITE'
  | 'ERR_METADATA_TOO_LARGE'
  | 'ERR_INVALID_METADATA'
  | 'ERR_TOO_DEEP'
  | 'ERR_OUT_OF_RANGE'
  | 'ERR_NOT_ROUND_TRIP'
  | 'ERR_UNKNOWN_COLLECTION'
  | 'ERR_COLLECTION_EXISTS'
  | 'ERR_UNKNOWN_ID'
  | 'ERR_INVALID_FILTER'
  | 'ERR_STALE_SESSION'
  | 'ERR_SESSION_REUSED'
  | 'ERR_SNAPSHOT'
  | 'ERR_APPLY'

/**
 * A command or query the state machine refuses. `code` is stable; `field` is the path of the
 * offending input (e.g. `items[2].vector[5]`) and the message names it too.
 */
export class StateMachineError extends Error {
  readonly code: StateErrorCode
  readonly field: string | undefined
  constructor(code: StateErrorCode, field: string | undefined, message: string) {
    super(field ? `${field}: ${message}` : message)
    this.name = 'StateMachineError'
    this.code = code
    this.field = field
  }
}

export class InvalidCommandError extends StateMachineError {
  constructor(field: string | undefined, message: string) {
    super('ERR_INVALID_COMMAND', field, message)
    this.name = 'InvalidCommandError'
  }
}

export class InvalidNameError extends StateMachineError {
  constructor(field: string, message: string) {
    super('ERR_INVALID_NAME', field, message)
    this.name = 'InvalidNameError'
  }
}

export class InvalidIdError extends StateMachineError {
  constructor(field: string, message: string) {
    super('ERR_INVALID_ID', field, message)
    this.name = 'InvalidIdError'
  }
}

export class DimensionMismatchError extends StateMachineError {
  constructor(field: string, expected: number, actual: number) {
    super('ERR_DIMENSION_MISMATCH', field, `expected ${expected} dimensions, got ${actual}`)
    this.name = 'DimensionMismatchError'
  }
}

export class NonFiniteError extends StateMachineError {
  constructor(field: string, value: number) {
    super('ERR_NON_FINITE', field, `component is ${value}; vectors must be finite`)
    this.name = 'NonFiniteError'
  }
}

export class MetadataTooLargeError extends StateMachineError {
  constructor(field: string, bytes: number, limit: number) {
    super('ERR_METADATA_TOO_LARGE', field, `metadata is ${bytes} bytes encoded; the limit is ${limit}`)
    this.name = 'MetadataTooLargeError'
  }
}

export class InvalidMetadataError extends StateMachineError {
  constructor(field: string, message: string) {
    super('ERR_INVALID_METADATA', field, message)
    this.name = 'InvalidMetadataError'
  }
}

export class UnknownCollectionError extends StateMachineError {
  constructor(field: string, name: string) {
    super('ERR_UNKNOWN_COLLECTION', field, `no collection named "${name}"`)
    this.name = 'UnknownCollectionError'
  }
}

export class CollectionExistsError extends StateMachineError {
  constructor(field: string, name: string) {
    super('ERR_COLLECTION_EXISTS', field, `collection "${name}" already exists with other options`)
    this.name = 'CollectionExistsError'
  }
}

export class UnknownIdError extends StateMachineError {
  constructor(field: string, id: string) {
    super('ERR_UNKNOWN_ID', field, `no item with id "${id}"`)
    this.name = 'UnknownIdError'
  }
}

export class InvalidFilterError extends StateMachineError {
  constructor(field: string, message: string) {
    super('ERR_INVALID_FILTER', field, message)
    this.name = 'InvalidFilterError'
  }
}

export class StaleSessionError extends StateMachineError {
  constructor(client: string, seq: number, last: number) {
    super('ERR_STALE_SESSION', 'session.seq', `client "${client}" sent seq ${seq} after seq ${last}`)
    this.name = 'StaleSessionError'
  }
}

export class SnapshotError extends StateMachineError {
  constructor(message: string) {
    super('ERR_SNAPSHOT', undefined, message)
    this.name = 'SnapshotError'
  }
}

export class TooDeepError extends StateMachineError {
  constructor(field: string | undefined, limit: number) {
    super('ERR_TOO_DEEP', field, `nests deeper than ${limit} levels`)
    this.name = 'TooDeepError'
  }
}

export class OutOfRangeError extends StateMachineError {
  constructor(field: string, value: number, quantization: string, limit: number) {
    super(
      'ERR_OUT_OF_RANGE',
      field,
      `component ${value} is outside ±${limit}, the range of ${quantization} storage`,
    )
    this.name = 'OutOfRangeError'
  }
}

/** The command would not read back as written (lone surrogates, `__proto__` keys, -0, ...). */
export class NotRoundTripError extends StateMachineError {
  constructor(field: string | undefined, message: string) {
    super('ERR_NOT_ROUND_TRIP', field, message)
    this.name = 'NotRoundTripError'
  }
}

export class SessionReusedError extends StateMachineError {
  constructor(client: string, seq: number) {
    super(
      'ERR_SESSION_REUSED',
      'session.seq',
      `client "${client}" already used seq ${seq} for a different command`,
    )
    this.name = 'SessionReusedError'
  }
}

/**
 * A committed entry failed for a local reason (out of memory, an engine error): recording that
 * as the command's result would make this replica drift from the others, so the machine stops.
 * It must not be used again; recover from a snapshot into a new machine.
 */
export class FailStopError extends Error {
  readonly code = 'ERR_FAIL_STOP'
  /** The log index whose apply failed. */
  readonly index: number
  constructor(index: number, cause: unknown) {
    super(`state machine stopped at index ${index}: ${(cause as Error)?.message ?? String(cause)}`, { cause })
    this.name = 'FailStopError'
    this.index = index
  }
}
