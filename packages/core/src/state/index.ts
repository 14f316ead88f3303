export { Collection, EXACT_SCAN_MAX, type Hit, type Item, type SearchOptions } from './collection.js'
export {
  COMMAND_VERSION,
  type CollectionOptions,
  type Command,
  type CommandOp,
  decodeCommand,
  encodeCommand,
  type Metadata,
  type Session,
  type UpsertItem,
} from './commands.js'
export { stateDigest } from './digest.js'
export * from './errors.js'
export { type Condition, compileFilter, type Filter, type RangeCondition } from './filter.js'
export { DEFAULT_LIMITS, type Limits, MAX_SEARCH_EF, MAX_SEARCH_K } from './limits.js'
export { type SessionRecord, SessionTable } from './sessions.js'
export {
  restoreInto,
  restoreSnapshot,
  SNAPSHOT_VERSION,
  type SnapshotOptions,
  takeSnapshot,
} from './snapshot.js'
export {
  type AppliedError,
  type ApplyResult,
  type CommandValue,
  createStateMachine,
  StateMachine,
  type StateMachineOptions,
} from './state-machine.js'
export { sameOptions, VECTOR_RANGE, validateCommand } from './validate.js'
