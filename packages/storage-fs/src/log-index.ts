import { type HardState, StorageError } from '@flotilla/core'
import type { FrameMeta } from './record.js'

/** Where one record lives: its segment (opaque here), offset and size. */
export interface RecordPlace<S> {
  seg: S
  offset: number
  size: number
}

export const INITIAL_HARD_STATE: HardState = { term: 0, vote: '', commit: 0 }

/**
 * The in-memory index of the log: the live entries [first, last] with each one's term and
 * place, the hard state, and the rules both appends and replay follow, so that replaying the
 * frames in order rebuilds exactly what the writes built. Indices known to exist but held by a
 * segment that compaction deleted are placeholders (term -1); they must all lie below the first
 * index once replay is done.
 */
export class LogIndex<S> {
  private base = 1
  private terms: number[] = []
  private places: (RecordPlace<S> | null)[] = []
  hardState: HardState = { ...INITIAL_HARD_STATE }

  get first(): number {
    return this.base
  }

  get last(): number {
    return this.base + this.terms.length - 1
  }

  term(index: number): number | undefined {
    const t = index >= this.base ? this.terms[index - this.base] : undefined
    return t === undefined || t < 0 ? undefined : t
  }

  place(index: number): RecordPlace<S> {
    return this.places[index - this.base]!
  }

  /** Starts replay at a segment whose earlier segments are gone: [first, last] exist, unseen. */
  startAt(first: number, last: number): void {
    this.base = first
    this.terms = new Array(Math.max(0, last - first + 1)).fill(-1)
    this.places = new Array(this.terms.length).fill(null)
  }

  /** Applies what a frame says besides its entries, in replay and append order. */
  applyMeta(meta: FrameMeta): void {
    if (meta.reset && meta.first !== undefined) this.reset(meta.first)
    else if (meta.first !== undefined) this.compactTo(meta.first)
    if (meta.hardState) this.hardState = { ...meta.hardState }
  }

  /** Puts one record in, cutting the suffix it replaces. */
  add(index: number, term: number, place: RecordPlace<S>, where: string): void {
    if (index < this.base)
      throw new StorageError(
        'ERR_CORRUPT',
        `${where}: entry ${index} lies below the first index ${this.base}`,
      )
    if (index > this.last + 1)
      throw new StorageError('ERR_CORRUPT', `${where}: entry ${index} leaves a gap after ${this.last}`)
    const keep = index - this.base
    this.terms.length = keep
    this.places.length = keep
    this.terms.push(term)
    this.places.push(place)
  }

  /** Forgets entries below `first`; a first index past the last one leaves an empty log ending at first - 1. */
  compactTo(first: number): void {
    if (first <= this.base) return
    const drop = Math.min(first - this.base, this.terms.length)
    this.terms.splice(0, drop)
    this.places.splice(0, drop)
    this.base = first
  }

  reset(first: number): void {
    this.base = first
    this.terms = []
    this.places = []
  }

  /** The first live index whose record was never seen in replay, or null. */
  firstMissing(): number | null {
    const i = this.terms.indexOf(-1)
    return i < 0 ? null : this.base + i
  }
}
