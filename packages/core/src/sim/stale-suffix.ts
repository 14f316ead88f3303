import { type Message, MessageType } from '../raft/messages.js'
import type { Raft } from '../raft/raft.js'

/**
 * Issue 9's class "stale appends over a follower's stale suffix": how often a follower accepts an
 * append whose entries it all holds while its log beyond the append's last entry differs from
 * the leader's. Only then could a follower that commits past that last entry (planted bug 9a)
 * commit an entry the leader does not hold.
 */
export interface StaleSuffixStats {
  /** Appends of the follower's term or later delivered while it holds entries their leader does not. */
  appendsToStaleSuffix: number
  /** Appends accepted with every entry already held and more entries after the last one. */
  appendsOverLongerLog: number
  /** Of those, the entries after the append's last one differ from the leader's log. */
  staleSuffixAppends: number
  /** Of those, the append's commit index is beyond its last entry. */
  staleSuffixCommitBeyond: number
  /** Of those, a differing entry lies at or below the commit index: 9a would commit it. */
  staleSuffixUnsafeCommit: number
  /** Appends accepted over a longer log whose leader's log was not at hand to compare. */
  staleSuffixUnchecked: number
}

export function emptyStaleSuffixStats(): StaleSuffixStats {
  return {
    appendsToStaleSuffix: 0,
    appendsOverLongerLog: 0,
    staleSuffixAppends: 0,
    staleSuffixCommitBeyond: 0,
    staleSuffixUnsafeCommit: 0,
    staleSuffixUnchecked: 0,
  }
}

/**
 * Counts as each append is delivered, before the follower steps it. The reference is each term's
 * leader's log, copied as it grows: during its term a leader only appends (and compacts, which
 * the copy ignores), and the copy outlives its crash or its move to a later term, when late
 * appends of its term may still arrive. Entries compacted before a leader was first seen are
 * committed: their terms are kept as leaders commit them.
 */
export class StaleSuffixCounter {
  private readonly leaderLogs = new Map<number, { first: number; terms: number[] }>()
  private readonly committedTerms = new Map<number, number>()
  private recorded = 0

  constructor(private readonly stats: StaleSuffixStats) {}

  /** Called at every step of a leader, before anything it sends leaves. */
  noteLeader(raft: Raft): void {
    if (raft.role !== 'leader') return
    const log = raft.log
    let copy = this.leaderLogs.get(raft.term)
    if (!copy) {
      copy = { first: log.firstIndex() - 1, terms: [] }
      this.leaderLogs.set(raft.term, copy)
    }
    for (let i = copy.first + copy.terms.length; i <= log.lastIndex(); i++) {
      const term = log.termOrUndefined(i)
      if (term === undefined) break
      copy.terms.push(term)
    }
    for (let i = Math.max(this.recorded + 1, log.firstIndex() - 1); i <= log.committed; i++)
      this.committedTerms.set(i, log.term(i))
    this.recorded = Math.max(this.recorded, log.committed)
  }

  beforeStep(follower: Raft, m: Message): void {
    if (m.type !== MessageType.App || m.term < follower.term) return
    if (follower.role === 'leader' && m.term === follower.term) return
    const log = follower.log
    const last = log.lastIndex()
    const held = this.firstDifference(follower, m.term, log.committed, last)
    if (held !== undefined && held <= last) this.stats.appendsToStaleSuffix++
    const index = m.index ?? 0
    if (index < log.committed || !log.matchTerm(index, m.logTerm ?? 0)) return
    const entries = m.entries ?? []
    // A new or conflicting entry: the log is cut to the append's last entry.
    if (log.findConflict(entries) !== 0) return
    const lastNew = index + entries.length
    if (last <= lastNew) return
    this.stats.appendsOverLongerLog++
    const firstDiff = this.firstDifference(follower, m.term, lastNew, last)
    if (firstDiff === undefined) {
      this.stats.staleSuffixUnchecked++
      return
    }
    if (firstDiff > last) return
    this.stats.staleSuffixAppends++
    const commit = m.commit ?? 0
    if (commit > lastNew) this.stats.staleSuffixCommitBeyond++
    if (Math.min(commit, last) >= firstDiff) this.stats.staleSuffixUnsafeCommit++
  }

  /**
   * The first index in (`from`, `last`] where the follower's entry is not the term's leader's
   * (`last` + 1 if none), or undefined if an index it needs is unknown. Logs that agree at an
   * index agree on everything before it, so the search walks down to the highest agreeing index.
   */
  private firstDifference(follower: Raft, term: number, from: number, last: number): number | undefined {
    const copy = this.leaderLogs.get(term)
    if (!copy) return undefined
    const end = copy.first + copy.terms.length - 1
    for (let i = last; i > from; i--) {
      // The copy may lag its leader by the entries of the step in progress: past its end the
      // leader's log holds only entries of its own term (it held everything older when first seen).
      const theirs =
        i > end ? term : i >= copy.first ? copy.terms[i - copy.first] : this.committedTerms.get(i)
      if (theirs === undefined) return undefined
      if (follower.log.termOrUndefined(i) === theirs) return i + 1
    }
    return from + 1
  }
}
