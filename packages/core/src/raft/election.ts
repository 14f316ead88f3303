// Elections: pre-vote and vote requests, campaigns, counting votes. A refusal carries the
// voter's commit point so that a candidate can learn what it holds is committed.

import { allVoters, applyConfChange, decodeConfChange } from './confchange.js'
import { EntryType, type Message, MessageType, NONE, type PeerId } from './messages.js'
import { jointVote } from './quorum.js'
import type { Raft } from './raft.js'
import { transferContext } from './read-types.js'

export function handleVoteRequest(r: Raft, m: Message): void {
  const canVote =
    r.vote === m.from ||
    (r.vote === NONE && r.lead === NONE) ||
    (m.type === MessageType.PreVote && m.term > r.term) ||
    (r.faults.doubleVote === true && m.type === MessageType.Vote)
  const respType = m.type === MessageType.Vote ? MessageType.VoteResp : MessageType.PreVoteResp
  if (canVote && r.log.isUpToDate(m.index ?? 0, m.logTerm ?? 0)) {
    r.send({ type: respType, to: m.from, term: m.term })
    if (m.type === MessageType.Vote) {
      r.electionElapsed = 0
      r.vote = m.from
    }
  } else {
    // Our commit point: a candidate holding that very entry learns it is committed. Without it
    // a group can stall for good: a leader that demoted itself committed the change, then lost
    // its followers before they heard the commit; it may no longer campaign, and its longer log
    // refuses the only voter left, which still counts it as a voter (raft-loop seed 3088).
    // A lying member could abuse this, but no more than a double vote: Raft trusts its voters.
    const commit = r.log.committed
    r.send({
      type: respType,
      to: m.from,
      term: r.term,
      reject: true,
      index: commit,
      logTerm: r.log.termOrUndefined(commit),
    })
  }
}

/** A refusal's commit point, taken only where our log holds the same entry (same index and term). */
export function learnCommit(r: Raft, m: Message): void {
  if (m.index === undefined || m.logTerm === undefined) return
  if (m.index > r.log.committed && r.log.matchTerm(m.index, m.logTerm)) r.log.commitTo(m.index)
}

/** Starts a campaign; `transferStamp` (from the leader's TimeoutNow) makes it a transfer campaign. */
export function hup(r: Raft, transferStamp?: number): void {
  if (r.role === 'leader') return
  if (!r.promotable()) return
  // A follower inside a leader's lease may not start an election of its own (a manual campaign):
  // its acknowledgement counts toward that lease. Only the leader's transfer overrides it.
  if (transferStamp === undefined && r.inLease()) return
  if (hasUnappliedConfChanges(r)) return
  if (transferStamp !== undefined) campaign(r, 'transfer', transferStamp)
  else campaign(r, r.cfg.preVote ? 'pre' : 'election')
}

export function hasUnappliedConfChanges(r: Raft): boolean {
  if (r.log.applied >= r.log.committed) return false
  const lo = Math.max(r.log.applied + 1, r.log.firstIndex())
  const ents = r.log.slice(lo, r.log.committed + 1, Number.POSITIVE_INFINITY)
  return ents.some((e) => e.type === EntryType.ConfChange)
}

export function campaign(r: Raft, kind: 'pre' | 'election' | 'transfer', transferStamp = 0): void {
  let term: number
  let type: MessageType
  if (kind === 'pre') {
    r.becomePreCandidate()
    term = r.term + 1
    type = MessageType.PreVote
  } else {
    r.becomeCandidate()
    term = r.term
    type = MessageType.Vote
  }
  if (poll(r, r.id, true) === 'won') {
    if (kind === 'pre') campaign(r, 'election')
    else r.becomeLeader()
    return
  }
  for (const id of allVoters(r.conf)) {
    if (id === r.id) continue
    r.send({
      type,
      to: id,
      term,
      index: r.log.lastIndex(),
      logTerm: r.log.lastTerm(),
      context: kind === 'transfer' ? transferContext(transferStamp) : undefined,
    })
  }
}

export function poll(r: Raft, id: PeerId, granted: boolean): 'won' | 'lost' | 'pending' {
  if (!r.votes.has(id)) r.votes.set(id, granted)
  return jointVote(r.conf.voters, r.conf.outgoing, r.votes)
}

/**
 * Whether a vote request may be considered at all, before any term change: a removed or
 * never-added peer must neither win nor raise our term. The candidate must be a voter in our
 * configuration or in one our log holds but has not applied yet (a promotion we have not
 * learned is committed). A candidate whose log is ahead of ours may know a configuration we
 * have not seen: it is heard (as etcd hears every candidate). Any other candidate is a voter
 * in no configuration its own log can hold (that log is not ahead of ours), so it is not
 * campaigning by the rules: dropping it costs no liveness and spares us the term it would force.
 */
export function mayCampaign(r: Raft, m: Message): boolean {
  const term = m.logTerm ?? 0
  const ahead = term > r.log.lastTerm() || (term === r.log.lastTerm() && (m.index ?? 0) > r.log.lastIndex())
  return ahead || isKnownVoter(r, m.from)
}

function isKnownVoter(r: Raft, id: PeerId): boolean {
  let conf = r.conf
  if (allVoters(conf).includes(id)) return true
  const lo = Math.max(r.log.applied + 1, r.log.firstIndex())
  if (lo > r.log.lastIndex()) return false
  for (const e of r.log.slice(lo, r.log.lastIndex() + 1, Number.POSITIVE_INFINITY)) {
    if (e.type !== EntryType.ConfChange) continue
    try {
      conf = applyConfChange(conf, decodeConfChange(e.data))
    } catch {
      continue // skipped on apply as well
    }
    if (allVoters(conf).includes(id)) return true
  }
  return false
}
