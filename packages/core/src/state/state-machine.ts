import { type EngineChoice, type IndexFactory, indexFactory } from '../vector/index.js'
import { Collection, type Hit, type SearchOptions, type StoredItem } from './collection.js'
import {
  type CollectionOptions,
  type Command,
  decodeCommand,
  encodeCommand,
  type Session,
} from './commands.js'
import {
  FailStopError,
  InvalidCommandError,
  NotRoundTripError,
  SessionReusedError,
  StaleSessionError,
  StateMachineError,
  UnknownCollectionError,
} from './errors.js'
import { hash64 } from './hash.js'
import { DEFAULT_LIMITS, type Limits, MAX_SEARCH_EF, MAX_SEARCH_K } from './limits.js'
import { type SessionRecord, SessionTable } from './sessions.js'
import {
  checkVector,
  type StateView,
  sameOptions,
  validateCommand,
  validateSession,
  withDefaults,
} from './validate.js'
import { clonePlain, samePlain } from './values.js'

export type CommandValue =
  | { created: boolean }
  | { dropped: boolean }
  | { upserted: number }
  | { updated: boolean }
  | { deleted: number }
  | { compacted: number }

export interface AppliedError {
  code: string
  field?: string
  message: string
}

/** The outcome of one log entry; a rejected command changes nothing but `lastApplied`. */
export type ApplyResult =
  | { index: number; ok: true; value: CommandValue | null }
  | { index: number; ok: false; error: AppliedError }

export type { SessionRecord }

export interface StateMachineOptions extends EngineChoice {
  limits?: Partial<Limits>
}

/**
 * The replicated collection set. `apply` is deterministic: given the same committed entries in
 * the same order, every replica reaches the same state and returns the same results, or stops
 * with a FailStopError when something local (memory, the engine) fails.
 */
export class StateMachine implements StateView {
  readonly limits: Limits
  readonly collections = new Map<string, Collection>()
  readonly sessions: SessionTable
  lastApplied = 0
  readonly make: IndexFactory
  #stopped: FailStopError | undefined
  #appliedSession: Session | undefined

  /**
   * The session of the entry `apply` last took, if it carried one that decoded: the driver
   * matches it to a waiting write without decoding the entry a second time.
   */
  get appliedSession(): Session | undefined {
    return this.#appliedSession
  }

  constructor(make: IndexFactory, limits: Partial<Limits> = {}) {
    this.make = make
    this.limits = { ...DEFAULT_LIMITS, ...limits }
    this.sessions = new SessionTable(this.limits)
  }

  get engine(): IndexFactory['engine'] {
    return this.make.engine
  }

  /** The failure that stopped this machine, if one did. */
  get stopped(): FailStopError | undefined {
    return this.#stopped
  }

  collectionOptions(name: string): CollectionOptions | undefined {
    return this.collections.get(name)?.options
  }

  hasId(collection: string, id: string): boolean {
    return this.collections.get(collection)?.ids.has(id) ?? false
  }

  /**
   * Encodes `cmd` for proposal: checks it, encodes it, decodes the bytes, checks what every
   * replica will decode against the current state, and refuses what does not read back as
   * written. Returns the exact bytes to propose; throws a StateMachineError naming the field.
   */
  prepare(cmd: Command): Uint8Array {
    this.assertRunning()
    validateCommand(cmd, this, this.limits)
    const bytes = encodeForApply(cmd)
    const decoded = decodeCommand(bytes, this.limits.maxMetadataDepth)
    validateCommand(decoded, this, this.limits)
    if (!samePlain(cmd, decoded))
      throw new NotRoundTripError(undefined, 'the command does not decode as written')
    return bytes
  }

  /** Checks a command as `prepare` does, without keeping the bytes. */
  validate(cmd: Command): void {
    this.prepare(cmd)
  }

  /**
   * Applies the committed entry at `index`: its bytes (or a Command, encoded first; an empty
   * entry is a no-op). Deterministic outcomes, rejections included, come back as results;
   * entries at or below `lastApplied` are ignored. A local failure throws FailStopError and
   * stops the machine: every later call throws it too.
   */
  apply(index: number, entry: Command | Uint8Array): ApplyResult {
    this.assertRunning()
    this.#appliedSession = undefined
    if (index <= this.lastApplied)
      return {
        index,
        ok: false,
        error: { code: 'ERR_ALREADY_APPLIED', message: `index ${index} <= ${this.lastApplied}` },
      }
    let result: ApplyResult
    try {
      result = this.#applyEntry(index, entry)
    } catch (err) {
      this.#stopped = new FailStopError(index, err)
      throw this.#stopped
    }
    this.lastApplied = index
    return result
  }

  // Throws only for local failures; every verdict on the entry itself is a returned result.
  #applyEntry(index: number, entry: Command | Uint8Array): ApplyResult {
    this.sessions.expire(index)
    let cmd: Command
    let bytes: Uint8Array
    try {
      bytes = entry instanceof Uint8Array ? entry : encodeForApply(entry)
      if (bytes.length === 0) return { index, ok: true, value: null }
      cmd = decodeCommand(bytes, this.limits.maxMetadataDepth)
      // Checked before the state is consulted: a retry is recognised even if the command
      // would no longer validate (its collection was dropped since).
      if (cmd.session !== undefined) validateSession(cmd.session, this.limits)
    } catch (err) {
      return rejection(index, err)
    }
    const session = cmd.session
    if (!session) return this.#execute(index, cmd)
    this.#appliedSession = session
    const hash = hash64(bytes)
    const record = this.sessions.get(session.client)
    if (record && session.seq < record.seq)
      return rejection(index, new StaleSessionError(session.client, session.seq, record.seq))
    if (record && session.seq === record.seq) {
      if (record.hash !== hash) return rejection(index, new SessionReusedError(session.client, session.seq))
      this.sessions.record(session.client, { ...record, index })
      return clonePlain(record.result)
    }
    const result = this.#execute(index, cmd)
    // Only applied commands hold a session: a rejection changed nothing, so a retry re-checks.
    if (result.ok)
      this.sessions.record(session.client, { seq: session.seq, hash, index, result: clonePlain(result) })
    return result
  }

  #execute(index: number, cmd: Command): ApplyResult {
    try {
      validateCommand(cmd, this, this.limits)
    } catch (err) {
      return rejection(index, err)
    }
    return { index, ok: true, value: this.#mutate(cmd) }
  }

  // Runs only after validation passed: anything that throws here is a local failure.
  #mutate(cmd: Command): CommandValue {
    switch (cmd.op) {
      case 'create': {
        if (this.collections.has(cmd.name)) return { created: false }
        this.collections.set(cmd.name, new Collection(cmd.name, withDefaults(cmd.options), this.make))
        return { created: true }
      }
      case 'drop': {
        const c = this.collections.get(cmd.name)
        if (!c) return { dropped: false }
        this.collections.delete(cmd.name)
        c.free()
        return { dropped: true }
      }
      case 'upsert':
        return { upserted: this.#collection(cmd.collection).upsert(cmd.items) }
      case 'update':
        return { updated: this.#collection(cmd.collection).updateMetadata(cmd.id, cmd.metadata) }
      case 'delete':
        return { deleted: this.#collection(cmd.collection).delete(cmd.ids) }
      case 'compact':
        return { compacted: this.#collection(cmd.collection).compact() }
    }
  }

  #collection(name: string, field = 'collection'): Collection {
    const c = this.collections.get(name)
    if (!c) throw new UnknownCollectionError(field, name)
    return c
  }

  /**
   * k nearest items of a collection, optionally filtered on metadata. `ef` widens this query's
   * candidate list (never below the collection's `expansionSearch`) and leaves nothing behind.
   * Hits are copies.
   */
  search(collection: string, query: Float32Array, options: SearchOptions): Hit[] {
    this.assertRunning()
    const c = this.#collection(collection)
    checkVector('query', query, c.options)
    checkBound('k', options.k, MAX_SEARCH_K)
    if (options.ef !== undefined) checkBound('ef', options.ef, MAX_SEARCH_EF)
    return c.search(query, options)
  }

  /** One item's vector and metadata, as copies. */
  get(collection: string, id: string): { vector: Float32Array; metadata: unknown } | undefined {
    this.assertRunning()
    const item: StoredItem | undefined = this.#collection(collection).item(id)
    return item && { vector: item.vector.slice(), metadata: clonePlain(item.metadata) }
  }

  /** Throws the FailStopError that stopped this machine, if one did. */
  assertRunning(): void {
    if (this.#stopped) throw this.#stopped
  }

  /** Frees every index; the machine is unusable afterwards. */
  free(): void {
    for (const c of this.collections.values()) c.free()
    this.collections.clear()
  }

  static sameOptions = sameOptions
}

function encodeForApply(cmd: Command): Uint8Array {
  try {
    return encodeCommand(cmd)
  } catch (err) {
    throw new InvalidCommandError(undefined, `cannot be encoded: ${(err as Error).message}`)
  }
}

function checkBound(field: string, value: unknown, max: number): void {
  if (!Number.isInteger(value) || (value as number) < 1 || (value as number) > max)
    throw new StateMachineError('ERR_INVALID_COMMAND', field, `must be an integer in 1..${max}`)
}

/** A deterministic verdict on the entry; anything else is a local failure and propagates. */
function rejection(index: number, err: unknown): ApplyResult {
  if (!(err instanceof StateMachineError)) throw err
  return { index, ok: false, error: { code: err.code, field: err.field, message: err.message } }
}

/** A state machine whose indexes use the chosen engine (default: native in Node, else WASM). */
export async function createStateMachine(options: StateMachineOptions = {}): Promise<StateMachine> {
  const { limits, ...engine } = options
  return new StateMachine(await indexFactory(engine), limits)
}
