import type { Entry } from '../raft/messages.js'
import type { RawNode } from '../raft/raw-node.js'

/**
 * Raft's safety properties, checked incrementally on every simulated step: election safety,
 * log matching, leader completeness and state-machine safety (Raft paper Figure 3).
 */
export class SafetyChecker {
  readonly violations: string[] = []
  private leaders = new Map<number, string>()
  /** (index, term) -> the entry's data and the term of the entry before it. */
  private entries = new Map<string, { data: Uint8Array; prevTerm: number | undefined }>()
  /** Committed entries, with the lowest term in which any peer recorded them committed. */
  private committed: { term: number; data: Uint8Array; commitTerm: number }[] = []
  private maxCommitted = 0
  private applied: Uint8Array[] = []

  constructor(private readonly now: () => number) {}

  private fail(message: string): void {
    if (this.violations.length < 20) this.violations.push(`t=${this.now()}: ${message}`)
  }

  /** Entries a peer is about to persist: the pair (index, term) must name one entry everywhere. */
  onAppend(peer: string, node: RawNode, entries: Entry[], prevTerms = this.prevTerms(node, entries)): void {
    for (const [i, e] of entries.entries()) {
      const prevTerm = prevTerms[i]
      const key = `${e.index}:${e.term}`
      const known = this.entries.get(key)
      if (!known) {
        this.entries.set(key, { data: e.data, prevTerm })
        continue
      }
      if (!sameBytes(known.data, e.data)) this.fail(`log matching: ${peer} holds a different entry at ${key}`)
      if (prevTerm !== undefined && known.prevTerm !== undefined && prevTerm !== known.prevTerm) {
        this.fail(`log matching: ${peer} has term ${prevTerm} before ${key}, another peer ${known.prevTerm}`)
      }
    }
  }

  /** The term before each entry, in the log the entries extend (taken when they are produced). */
  prevTerms(node: RawNode, entries: Entry[]): (number | undefined)[] {
    return entries.map((e) => (e.index === 1 ? 0 : node.raft.log.termOrUndefined(e.index - 1)))
  }

  /** After a peer's commit index moved: committed entries must agree across peers. */
  onCommit(peer: string, node: RawNode, from: number, to: number): void {
    const log = node.raft.log
    const lo = Math.max(from, log.firstIndex())
    if (lo > to) return
    const ents = log.slice(lo, to + 1, Number.POSITIVE_INFINITY)
    // A peer's term is at least the term in which what it knows as committed was committed.
    const commitTerm = node.raft.term
    for (const e of ents) {
      const known = this.committed[e.index]
      if (!known) this.committed[e.index] = { term: e.term, data: e.data, commitTerm }
      else if (known.term !== e.term || !sameBytes(known.data, e.data)) {
        this.fail(
          `committed entry ${e.index} differs: ${peer} has term ${e.term}, committed term ${known.term}`,
        )
      } else if (commitTerm < known.commitTerm) known.commitTerm = commitTerm
    }
    if (to > this.maxCommitted) this.maxCommitted = to
  }

  /** Election safety on every step, and leader completeness when a leader first appears. */
  onLeader(peer: string, node: RawNode): void {
    const term = node.raft.term
    const known = this.leaders.get(term)
    if (known === peer) return
    if (known !== undefined) {
      this.fail(`election safety: ${known} and ${peer} both lead term ${term}`)
      return
    }
    this.leaders.set(term, peer)
    // Leader completeness (Raft §5.4): entries committed in earlier terms are in this leader's
    // log. A leader of an older term may take office late, so later commits are not required.
    const log = node.raft.log
    for (let i = log.firstIndex() - 1; i <= this.maxCommitted; i++) {
      const c = this.committed[i]
      if (!c || c.commitTerm >= term) continue
      if (i > log.lastIndex()) {
        this.fail(
          `leader completeness: ${peer} leads term ${term} without entry ${i}, committed in term ${c.commitTerm}`,
        )
        return
      }
      const t = log.termOrUndefined(i)
      if (t !== undefined && t !== c.term) {
        this.fail(
          `leader completeness: ${peer} (term ${term}) has term ${t} at committed index ${i} (term ${c.term})`,
        )
        return
      }
    }
  }

  /** State-machine safety: no two peers apply different commands at one index. */
  onApply(peer: string, index: number, data: Uint8Array): void {
    const known = this.applied[index]
    if (!known) this.applied[index] = data
    else if (!sameBytes(known, data))
      this.fail(`state machine safety: ${peer} applied a different entry at ${index}`)
  }

  report(message: string): void {
    this.fail(message)
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a === b) return true
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}
