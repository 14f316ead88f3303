export type RaftErrorCode =
  | 'ERR_PROPOSAL_DROPPED'
  | 'ERR_NOT_LEADER'
  | 'ERR_CONF_CHANGE_PENDING'
  | 'ERR_INVALID_CONF_CHANGE'
  | 'ERR_INVALID_CONFIG'
  | 'ERR_WITNESS'
  | 'ERR_COMPACTED'
  | 'ERR_UNAVAILABLE'
  | 'ERR_SNAPSHOT_OUT_OF_DATE'

export class RaftError extends Error {
  constructor(
    readonly code: RaftErrorCode,
    message: string,
  ) {
    super(message)
    this.name = 'RaftError'
  }
}
