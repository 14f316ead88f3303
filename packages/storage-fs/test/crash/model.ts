import type { ConfState, Entry, HardState } from '@flotilla/core'

/** Deterministic content, so that any entry or snapshot can be checked from its key alone. */
export function payload(index: number, term: number): Uint8Array {
  let x = (index * 2654435761 + term * 40503) >>> 0 || 1
  const next = () => {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    return x >>> 0
  }
  const out = new Uint8Array(next() % 1500)
  for (let i = 0; i < out.length; i++) out[i] = next() & 0xff
  return out
}

export function makeEntry(index: number, term: number): Entry {
  return { index, term, type: 0, data: payload(index, term) }
}

export function snapshotBytes(index: number): Uint8Array {
  return payload(index, 0xabcdef).slice(0, 1000)
}

/** One save the child started: entries [first, first + count) at `term`, plus a hard state. */
export interface Batch {
  seq: number
  first: number
  count: number
  term: number
  hardState: HardState
}

/** The log as index → term from `first` on (entries below `first` are compacted). */
export interface LogModel {
  first: number
  terms: number[]
}

export function applyBatch(log: LogModel, b: Batch): LogModel {
  const keep = Math.max(0, b.first - log.first)
  const terms = log.terms.slice(0, keep)
  for (let i = 0; i < b.count; i++) terms.push(b.term)
  return { first: log.first, terms }
}

export const lastOf = (log: LogModel) => log.first + log.terms.length - 1

/** The configuration every test snapshot carries (storage only stores it). */
export const conf: ConfState = {
  voters: ['a'],
  outgoing: [],
  learners: [],
  learnersNext: [],
  witnesses: [],
  autoLeave: false,
}
