import type { ApplyResult } from './state-machine.js'

/**
 * The last applied command of one client. `hash` tells a retry (same bytes) from a reuse of
 * the number for another command; `index` is the entry that last used the session.
 */
export interface SessionRecord {
  seq: number
  hash: string
  index: number
  result: ApplyResult
}

export interface SessionBounds {
  sessionTtlEntries: number
  maxSessions: number
}

/**
 * Client sessions, least recently used first. Expiry depends only on log indexes and the
 * table, so every replica (and one restored from a snapshot) drops the same sessions at the
 * same entry; a client that returns after expiry is treated as new.
 */
export class SessionTable implements Iterable<[string, SessionRecord]> {
  readonly #records = new Map<string, SessionRecord>()
  readonly #bounds: SessionBounds

  constructor(bounds: SessionBounds) {
    this.#bounds = bounds
  }

  get size(): number {
    return this.#records.size
  }

  get(client: string): SessionRecord | undefined {
    return this.#records.get(client)
  }

  /** Drops the sessions no entry has used in the last `sessionTtlEntries` before `index`. */
  expire(index: number): void {
    const oldest = index - this.#bounds.sessionTtlEntries
    for (const [client, record] of this.#records) {
      if (record.index > oldest) break
      this.#records.delete(client)
    }
  }

  /** Records (or refreshes) a session as the most recent; evicts the oldest past the bound. */
  record(client: string, record: SessionRecord): void {
    this.#records.delete(client)
    this.#records.set(client, record)
    while (this.#records.size > this.#bounds.maxSessions) {
      const oldest = this.#records.keys().next().value as string
      this.#records.delete(oldest)
    }
  }

  clear(): void {
    this.#records.clear()
  }

  [Symbol.iterator](): IterableIterator<[string, SessionRecord]> {
    return this.#records.entries()
  }

  entries(): IterableIterator<[string, SessionRecord]> {
    return this.#records.entries()
  }
}
