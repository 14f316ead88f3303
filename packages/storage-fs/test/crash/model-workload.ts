import type { HardState } from '@flotilla/core'
import type { FsStorage } from '../../src/index.js'
import { conf, makeEntry, snapshotBytes } from './model.js'

/** What the store must hold after some prefix of the workload's operations. */
export interface ModelState {
  first: number
  /** Terms of the entries first, first + 1, … */
  terms: number[]
  hardState: HardState
  snapshot: { index: number; term: number } | null
}

export const lastIndexOf = (s: ModelState) => s.first + s.terms.length - 1

/**
 * The expected states, one per operation started: `states[k]` is the store after the first k
 * operations. `acked` counts the operations whose promise resolved; they resolve in order.
 */
export class Oracle {
  states: ModelState[] = [
    { first: 1, terms: [], hardState: { term: 0, vote: '', commit: 0 }, snapshot: null },
  ]
  acked = 0

  get current(): ModelState {
    return this.states[this.states.length - 1]
  }

  private push(next: ModelState): number {
    this.states.push(next)
    return this.states.length - 1
  }

  save(first: number, count: number, term: number, hardState?: HardState): number {
    const s = this.current
    const terms = s.terms.slice(0, first - s.first)
    for (let i = 0; i < count; i++) terms.push(term)
    return this.push({ ...s, terms: count > 0 ? terms : s.terms, hardState: hardState ?? s.hardState })
  }

  snapshot(index: number, term: number, replaceLog: boolean): number {
    const s = this.current
    if (!replaceLog) return this.push({ ...s, snapshot: { index, term } })
    return this.push({ ...s, snapshot: { index, term }, first: index + 1, terms: [] })
  }

  compact(index: number): number {
    const s = this.current
    if (index < s.first) return this.push(s)
    return this.push({ ...s, first: index + 1, terms: s.terms.slice(index + 1 - s.first) })
  }

  /** Marks operation `op` acknowledged; operations resolve in the order they started. */
  ack(op: number): void {
    if (op !== this.acked + 1) throw new Error(`operation ${op} resolved before ${this.acked + 1}`)
    this.acked = op
  }
}

/** A small deterministic random source (the workload must repeat exactly). */
export function seeded(seed: number): (n: number) => number {
  let x = seed >>> 0 || 1
  return (n) => {
    x = (x * 1664525 + 1013904223) >>> 0
    return (x >>> 8) % n
  }
}

export interface WorkloadHooks {
  /** Reopens the store (a clean close and open), as a restarted peer would. */
  reopen(): Promise<FsStorage>
}

/**
 * Saves in bursts (group commit), overwrites with a higher term, hard-state changes alone and
 * with entries, local snapshots and compactions (to the last index too), incoming snapshots that
 * replace the log (written piece by piece, some abandoned), and clean restarts. Stops at the first failure (the crash).
 */
export async function runWorkload(
  store: FsStorage,
  oracle: Oracle,
  rand: (n: number) => number,
  steps: number,
  hooks: WorkloadHooks,
): Promise<void> {
  let term = 1
  let vote = 'a'
  const track = (op: number, p: Promise<void>) => p.then(() => oracle.ack(op))
  for (let step = 0; step < steps; step++) {
    const s = oracle.current
    const last = lastIndexOf(s)
    const roll = rand(100)
    if (roll < 60) {
      // A burst of concurrent saves: one group commit.
      const burst = 1 + rand(4)
      const saves: Promise<void>[] = []
      let next = last + 1
      for (let b = 0; b < burst; b++) {
        let first = next
        if (rand(6) === 0 && next - 1 >= oracle.current.first) {
          term++ // a new leader's entries replace a suffix
          first = Math.max(oracle.current.first, next - 1 - rand(6))
        }
        const count = rand(5) === 0 ? 0 : 1 + rand(6)
        const changeHs = rand(3) === 0 || count === 0
        if (changeHs && rand(2) === 0) vote = vote === 'a' ? 'b' : 'a'
        const hardState = changeHs ? { term, vote, commit: Math.max(0, first - 1) } : undefined
        const entries = Array.from({ length: count }, (_, i) => makeEntry(first + i, term))
        if (count > 0) next = first + count
        const op = oracle.save(first, count, term, hardState)
        saves.push(track(op, store.save({ entries, hardState })))
      }
      await Promise.all(saves)
    } else if (roll < 75 && last >= s.first) {
      // A local snapshot inside the log, then compaction to it or below it.
      const at = Math.max(s.first, last - rand(8))
      const t = s.terms[at - s.first]
      await track(
        oracle.snapshot(at, t, false),
        store.writeSnapshot({ index: at, term: t, conf }, [snapshotBytes(at)]),
      )
      const to = rand(3) === 0 ? Math.max(s.first - 1, at - rand(4)) : at
      await track(oracle.compact(to), store.compact(to))
    } else if (roll < 82) {
      // An incoming snapshot past the log replaces it, written as its chunks arrive. Some
      // transfers are dropped part way (the leader restarted them): they must leave no trace.
      term++
      const at = last + 1 + rand(5)
      const data = snapshotBytes(at)
      const writer = await store.beginSnapshot({ index: at, term, conf })
      const cut = rand(data.length + 1)
      await writer.write(0, data.subarray(0, cut))
      if (rand(4) === 0) {
        await writer.abort()
        continue
      }
      await writer.write(cut, data.subarray(cut))
      await track(oracle.snapshot(at, term, true), writer.commit({ replaceLog: true }))
    } else if (roll < 88) {
      await store.close()
      store = await hooks.reopen()
    } else {
      // A save that repeats the hard state: nothing to write, nothing to sync.
      await track(oracle.save(last + 1, 0, term, s.hardState), store.save({ hardState: s.hardState }))
    }
  }
}
