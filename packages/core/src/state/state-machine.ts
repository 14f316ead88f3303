import { type EngineChoice, type IndexFactory, indexFactory } from '../vector/index.js'
import { Collection, type Hit, type SearchOptions } from './collection.js'
import { type CollectionOptions, type Command, decodeCommand } from './commands.js'
import { StaleSessionError, StateMachineError, UnknownCollectionError } from './errors.js'
import { DEFAULT_LIMITS, type Limits } from './limits.js'
import { checkVector, type StateView, sameOptions, validateCommand, withDefaults } from './validate.js'

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

/** The last result per client: a retried (client, seq) returns it instead of applying again. */
export interface SessionRecord {
  seq: number
  result: ApplyResult
}

export interface StateMachineOptions extends EngineChoice {
  limits?: Partial<Limits>
}

/**
 * The replicated collection set. `apply` is deterministic: given the same committed entries in
 * the same order, every replica reaches the same state and returns the same results.
 */
export class StateMachine implements StateView {
  readonly limits: Limits
  readonly collections = new Map<string, Collection>()
  readonly sessions = new Map<string, SessionRecord>()
  lastApplied = 0
  readonly make: IndexFactory

  constructor(make: IndexFactory, limits: Partial<Limits> = {}) {
    this.make = make
    this.limits = { ...DEFAULT_LIMITS, ...limits }
  }

  get engine(): IndexFactory['engine'] {
    return this.make.engine
  }

  collectionOptions(name: string): CollectionOptions | undefined {
    return this.collections.get(name)?.options
  }

  hasId(collection: string, id: string): boolean {
    return this.collections.get(collection)?.ids.has(id) ?? false
  }

  /** Checks a command against the current state before it is proposed; throws a StateMachineError. */
  validate(cmd: Command): void {
    validateCommand(cmd, this, this.limits)
  }

  /**
   * Applies the committed entry at `index`: a Command, or its encoded bytes (an empty entry is
   * a no-op). Never throws; entries at or below `lastApplied` are ignored.
   */
  apply(index: number, entry: Command | Uint8Array): ApplyResult {
    if (index <= this.lastApplied)
      return {
        index,
        ok: false,
        error: { code: 'ERR_ALREADY_APPLIED', message: `index ${index} <= ${this.lastApplied}` },
      }
    this.lastApplied = index
    if (entry instanceof Uint8Array && entry.length === 0) return { index, ok: true, value: null }
    let cmd: Command
    try {
      cmd = entry instanceof Uint8Array ? decodeCommand(entry) : entry
    } catch (err) {
      return failure(index, err)
    }
    const session = cmd.session
    const record = session ? this.sessions.get(session.client) : undefined
    if (session && record && session.seq <= record.seq) {
      if (session.seq === record.seq) return record.result
      return failure(index, new StaleSessionError(session.client, session.seq, record.seq))
    }
    const result = this.#execute(index, cmd)
    if (session && validSession(session)) this.sessions.set(session.client, { seq: session.seq, result })
    return result
  }

  #execute(index: number, cmd: Command): ApplyResult {
    try {
      validateCommand(cmd, this, this.limits)
      return { index, ok: true, value: this.#mutate(cmd) }
    } catch (err) {
      return failure(index, err)
    }
  }

  // Runs only after validation passed, so the one step that may still fail is the index's own.
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

  /** k nearest items of a collection, optionally filtered on metadata. */
  search(collection: string, query: Float32Array, options: SearchOptions): Hit[] {
    const c = this.#collection(collection)
    checkVector('query', query, c.options.dimensions)
    if (!Number.isInteger(options.k) || options.k < 1)
      throw new StateMachineError('ERR_INVALID_COMMAND', 'k', 'must be a positive integer')
    if (options.ef !== undefined && (!Number.isInteger(options.ef) || options.ef < 1))
      throw new StateMachineError('ERR_INVALID_COMMAND', 'ef', 'must be a positive integer')
    return c.search(query, options)
  }

  get(collection: string, id: string): { vector: Float32Array; metadata: unknown } | undefined {
    const c = this.#collection(collection)
    const key = c.ids.get(id)
    const item = key === undefined ? undefined : c.items.get(key)
    return item && { vector: item.vector, metadata: item.metadata }
  }

  /** Frees every index; the machine is unusable afterwards. */
  free(): void {
    for (const c of this.collections.values()) c.free()
    this.collections.clear()
  }

  static sameOptions = sameOptions
}

function validSession(s: { client: unknown; seq: unknown }): boolean {
  return typeof s.client === 'string' && Number.isSafeInteger(s.seq)
}

function failure(index: number, err: unknown): ApplyResult {
  if (err instanceof StateMachineError)
    return { index, ok: false, error: { code: err.code, field: err.field, message: err.message } }
  return { index, ok: false, error: { code: 'ERR_APPLY', message: (err as Error)?.message ?? String(err) } }
}

/** A state machine whose indexes use the chosen engine (default: native in Node, else WASM). */
export async function createStateMachine(options: StateMachineOptions = {}): Promise<StateMachine> {
  const { limits, ...engine } = options
  return new StateMachine(await indexFactory(engine), limits)
}
