import { RaftError } from './errors.js'
import { entrySize, type LogStorage } from './log-storage.js'
import type { Entry, SnapshotInfo } from './messages.js'

/**
 * The log as Raft sees it: the stable part in `storage`, then the unstable tail (entries and
 * possibly a snapshot) that the driver has not yet persisted.
 */
export class RaftLog {
  committed: number
  applied: number
  /** Highest index handed out in a Ready for applying (applied catches up on advance). */
  applying: number
  unstableSnapshot: SnapshotInfo | null = null
  unstable: Entry[] = []
  /** Index of unstable[0]. */
  unstableOffset: number

  constructor(
    readonly storage: LogStorage,
    readonly maxApplyBytes: number,
  ) {
    const first = storage.firstIndex()
    this.unstableOffset = storage.lastIndex() + 1
    this.committed = first - 1
    this.applied = first - 1
    this.applying = first - 1
  }

  firstIndex(): number {
    if (this.unstableSnapshot) return this.unstableSnapshot.meta.index + 1
    return this.storage.firstIndex()
  }

  lastIndex(): number {
    if (this.unstable.length > 0) return this.unstableOffset + this.unstable.length - 1
    if (this.unstableSnapshot) return this.unstableSnapshot.meta.index
    return this.storage.lastIndex()
  }

  lastTerm(): number {
    return this.term(this.lastIndex())
  }

  /** Term at `index`, or undefined if it is compacted or past the end. */
  termOrUndefined(index: number): number | undefined {
    if (index < this.firstIndex() - 1 || index > this.lastIndex()) return undefined
    if (index >= this.unstableOffset && this.unstable.length > 0) {
      return this.unstable[index - this.unstableOffset].term
    }
    if (this.unstableSnapshot && index === this.unstableSnapshot.meta.index)
      return this.unstableSnapshot.meta.term
    try {
      return this.storage.term(index)
    } catch {
      return undefined
    }
  }

  term(index: number): number {
    const t = this.termOrUndefined(index)
    if (t === undefined) throw new RaftError('ERR_COMPACTED', `no term for index ${index}`)
    return t
  }

  matchTerm(index: number, term: number): boolean {
    return this.termOrUndefined(index) === term
  }

  /** Raft's up-to-date rule (§5.4.1). */
  isUpToDate(lastIndex: number, term: number): boolean {
    const myTerm = this.lastTerm()
    return term > myTerm || (term === myTerm && lastIndex >= this.lastIndex())
  }

  /** Entries in [lo, lastIndex], capped at `maxBytes` (at least one entry). */
  entriesFrom(lo: number, maxBytes: number): Entry[] {
    return this.slice(lo, this.lastIndex() + 1, maxBytes)
  }

  slice(lo: number, hi: number, maxBytes: number): Entry[] {
    if (lo >= hi) return []
    if (lo < this.firstIndex()) throw new RaftError('ERR_COMPACTED', `index ${lo} is compacted`)
    const out: Entry[] = []
    let size = 0
    if (lo < this.unstableOffset) {
      const stable = this.storage.entries(lo, Math.min(hi, this.unstableOffset), maxBytes)
      for (const e of stable) {
        out.push(e)
        size += entrySize(e)
      }
      if (stable.length < Math.min(hi, this.unstableOffset) - lo) return out
    }
    for (let i = Math.max(lo, this.unstableOffset); i < hi; i++) {
      const e = this.unstable[i - this.unstableOffset]
      size += entrySize(e)
      if (out.length > 0 && size > maxBytes) break
      out.push(e)
    }
    return out
  }

  /** Appends entries after truncating any conflicting unstable/stable suffix. */
  append(entries: Entry[]): number {
    if (entries.length === 0) return this.lastIndex()
    const first = entries[0].index
    if (first - 1 < this.committed) {
      throw new RaftError('ERR_UNAVAILABLE', `append at ${first} would overwrite committed ${this.committed}`)
    }
    if (first === this.unstableOffset + this.unstable.length) {
      for (const e of entries) this.unstable.push(e)
    } else if (first <= this.unstableOffset) {
      // Replaces everything unstable; the stable suffix is replaced when the driver persists.
      this.unstableOffset = first
      this.unstable = entries.slice()
    } else {
      this.unstable = this.unstable.slice(0, first - this.unstableOffset).concat(entries)
    }
    return this.lastIndex()
  }

  /** The index of the first entry in `entries` that is new or conflicts, or 0. */
  findConflict(entries: Entry[]): number {
    for (const e of entries) {
      if (!this.matchTerm(e.index, e.term)) return e.index
    }
    return 0
  }

  /** The last index <= `index` whose term is <= `term` (fast back-off), and its term. */
  findConflictByTerm(index: number, term: number): { index: number; term: number } {
    let i = index
    for (;;) {
      const t = this.termOrUndefined(i)
      if (t === undefined) return { index: i, term: 0 }
      if (t <= term) return { index: i, term: t }
      i--
    }
  }

  /** Follower append (Raft §5.3); returns the last new index, or undefined on mismatch. */
  maybeAppend(index: number, logTerm: number, committed: number, entries: Entry[]): number | undefined {
    if (!this.matchTerm(index, logTerm)) return undefined
    const lastNew = index + entries.length
    const conflict = this.findConflict(entries)
    if (conflict !== 0) {
      if (conflict <= this.committed) {
        throw new RaftError('ERR_UNAVAILABLE', `entry ${conflict} conflicts with the committed log`)
      }
      this.append(entries.slice(conflict - index - 1))
    }
    this.commitTo(Math.min(committed, lastNew))
    return lastNew
  }

  commitTo(index: number): void {
    if (index > this.committed) {
      if (index > this.lastIndex()) throw new RaftError('ERR_UNAVAILABLE', `commit ${index} is past the log`)
      this.committed = index
    }
  }

  maybeCommit(index: number, term: number): boolean {
    if (index > this.committed && this.termOrUndefined(index) === term) {
      this.commitTo(index)
      return true
    }
    return false
  }

  hasNextCommitted(): boolean {
    return this.committed > this.applying && !this.unstableSnapshot
  }

  /** Committed entries not yet handed out, up to `maxApplyBytes`. */
  nextCommitted(): Entry[] {
    if (!this.hasNextCommitted()) return []
    const lo = Math.max(this.applying + 1, this.firstIndex())
    return this.slice(lo, this.committed + 1, this.maxApplyBytes)
  }

  appliedTo(index: number): void {
    if (index > this.applied) this.applied = index
    if (index > this.applying) this.applying = index
  }

  /** The driver persisted unstable entries up to (index, term). */
  stableTo(index: number, term: number): void {
    const t = this.termOrUndefined(index)
    if (t !== term || index < this.unstableOffset) return
    const n = index - this.unstableOffset + 1
    this.unstable = this.unstable.slice(n)
    this.unstableOffset = index + 1
  }

  stableSnapTo(index: number): void {
    if (this.unstableSnapshot && this.unstableSnapshot.meta.index === index) this.unstableSnapshot = null
  }

  restore(snapshot: SnapshotInfo): void {
    this.committed = snapshot.meta.index
    this.applied = snapshot.meta.index
    this.applying = snapshot.meta.index
    this.unstableSnapshot = snapshot
    this.unstable = []
    this.unstableOffset = snapshot.meta.index + 1
  }

  snapshot(): SnapshotInfo {
    return this.unstableSnapshot ?? this.storage.snapshot()
  }
}
