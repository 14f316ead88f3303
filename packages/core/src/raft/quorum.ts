import type { PeerId } from './messages.js'

/** Pure quorum arithmetic over one majority configuration or a joint pair. */
export type VoteResult = 'won' | 'lost' | 'pending'

/** The largest value that a majority of `ids` has reached (Infinity for an empty set). */
export function majorityValue(ids: readonly PeerId[], valueOfPeer: (id: PeerId) => number): number {
  if (ids.length === 0) return Number.POSITIVE_INFINITY
  const values = ids.map(valueOfPeer).sort((a, b) => b - a)
  return values[Math.floor(ids.length / 2)]
}

/** For a joint configuration both majorities must agree, so take the smaller. */
export function jointValue(
  incoming: readonly PeerId[],
  outgoing: readonly PeerId[],
  valueOfPeer: (id: PeerId) => number,
): number {
  return Math.min(majorityValue(incoming, valueOfPeer), majorityValue(outgoing, valueOfPeer))
}

export function majorityVote(ids: readonly PeerId[], votes: ReadonlyMap<PeerId, boolean>): VoteResult {
  if (ids.length === 0) return 'won'
  let granted = 0
  let missing = 0
  for (const id of ids) {
    const v = votes.get(id)
    if (v === undefined) missing++
    else if (v) granted++
  }
  const need = Math.floor(ids.length / 2) + 1
  if (granted >= need) return 'won'
  if (granted + missing >= need) return 'pending'
  return 'lost'
}

export function jointVote(
  incoming: readonly PeerId[],
  outgoing: readonly PeerId[],
  votes: ReadonlyMap<PeerId, boolean>,
): VoteResult {
  const a = majorityVote(incoming, votes)
  const b = majorityVote(outgoing, votes)
  if (a === 'won' && b === 'won') return 'won'
  if (a === 'lost' || b === 'lost') return 'lost'
  return 'pending'
}
