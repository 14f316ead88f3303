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
export * from './errors.js'
export { type Condition, compileFilter, type Filter, type RangeCondition } from './filter.js'
export { DEFAULT_LIMITS, type Limits } from './limits.js'
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
  type SessionRecord,
  StateMachine,
  type StateMachineOptions,
} from './state-machine.js'
export { sameOptions, validateCommand } from './validate.js'
