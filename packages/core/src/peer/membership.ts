// Membership changes and leadership transfer, run on the leader.

import { allVoters, type ConfChangeItem, isJoint } from '../raft/confchange.js'
import { RaftError } from '../raft/errors.js'
import type { ConfState, PeerId } from '../raft/messages.js'
import type { PeerDriver } from './driver.js'
import { PeerError } from './errors.js'
import type { MemberKind, MemberStatus } from './types.js'

export function requireLeader(d: PeerDriver, what: string): void {
  d.checkRunning()
  if (d.node.raft.role === 'leader') return
  const leader = d.leader
  throw leader
    ? new PeerError('ERR_NOT_LEADER', `${what} runs on the leader, ${leader}`, { leader })
    : new PeerError('ERR_NO_LEADER', `${what} needs a leader; none is known`)
}

export function kindOf(conf: ConfState, id: PeerId): MemberKind | null {
  if (conf.witnesses.includes(id)) return 'witness'
  if (conf.voters.includes(id) || conf.outgoing.includes(id)) return 'voter'
  if (conf.learners.includes(id) || conf.learnersNext.includes(id)) return 'learner'
  return null
}

export function membersOf(conf: ConfState): MemberStatus[] {
  const ids = new Set([...conf.voters, ...conf.outgoing, ...conf.learners, ...conf.learnersNext])
  return [...ids].map((id) => ({ id, kind: kindOf(conf, id)! }))
}

/** Proposes one configuration change and waits until it is applied and any joint state left. */
async function applyChange(d: PeerDriver, changes: ConfChangeItem[], deadline: number): Promise<number> {
  requireLeader(d, 'a membership change')
  const raft = d.node.raft
  try {
    d.node.proposeConfChange({ changes })
  } catch (err) {
    if (err instanceof RaftError)
      throw new PeerError('ERR_MEMBERSHIP', `membership change refused: ${err.message}`, { cause: err })
    throw err
  }
  const index = raft.log.lastIndex()
  d.schedule()
  await d.waitUntil(
    () => raft.log.applied >= index && !isJoint(raft.conf),
    deadline,
    () => new PeerError('ERR_TIMEOUT', `membership change at index ${index} was not applied in time`),
  )
  return index
}

export async function addMember(
  d: PeerDriver,
  id: PeerId,
  as: MemberKind,
  timeoutMs: number,
): Promise<{ index: number }> {
  if (typeof id !== 'string' || id === '')
    throw new PeerError('ERR_INVALID', 'member id must be a non-empty string', { field: 'id' })
  if (as !== 'voter' && as !== 'learner' && as !== 'witness')
    throw new PeerError('ERR_INVALID', "as must be 'voter', 'learner' or 'witness'", { field: 'as' })
  requireLeader(d, 'addMember')
  const deadline = d.ticks.now() + timeoutMs
  const raft = d.node.raft
  const current = kindOf(raft.conf, id)
  if (current === as) return { index: raft.log.applied }
  if (as === 'voter' && current !== 'learner') {
    // A data voter first catches up as a learner, so it never slows the quorum down while it loads a snapshot.
    await applyChange(d, [{ type: 'learner', id }], deadline)
  }
  if (as === 'voter') await waitCaughtUp(d, [id], deadline)
  return { index: await applyChange(d, [{ type: as, id }], deadline) }
}

async function waitCaughtUp(d: PeerDriver, ids: PeerId[], deadline: number): Promise<void> {
  const raft = d.node.raft
  const target = raft.log.lastIndex()
  const behind = () => ids.find((id) => (raft.progress.get(id)?.match ?? -1) < target)
  await d.waitUntil(
    // A leader that stepped down stops waiting; the promotion then fails with ERR_NOT_LEADER.
    () => raft.role !== 'leader' || behind() === undefined,
    deadline,
    () => new PeerError('ERR_TIMEOUT', `learner ${behind()} did not catch up to index ${target} in time`),
  )
}

export interface MembersChange {
  add?: { id: PeerId; as?: MemberKind }[]
  remove?: PeerId[]
}

/**
 * Adds and removes several members in one joint configuration (old and new voters must both
 * agree until it is left): new data voters first join as learners and catch up together.
 */
export async function changeMembers(
  d: PeerDriver,
  change: MembersChange,
  timeoutMs: number,
): Promise<{ index: number }> {
  const adds = (change.add ?? []).map((a) => ({ id: a.id, as: a.as ?? 'voter' }))
  const removes = change.remove ?? []
  const seen = new Set<PeerId>()
  for (const [i, { id, as }] of adds.entries()) {
    checkId(id, `add[${i}].id`, seen)
    if (as !== 'voter' && as !== 'learner' && as !== 'witness')
      throw new PeerError('ERR_INVALID', "as must be 'voter', 'learner' or 'witness'", {
        field: `add[${i}].as`,
      })
  }
  for (const [i, id] of removes.entries()) checkId(id, `remove[${i}]`, seen)
  requireLeader(d, 'changeMembers')
  const raft = d.node.raft
  for (const [i, id] of removes.entries())
    if (kindOf(raft.conf, id) === null)
      throw new PeerError('ERR_MEMBERSHIP', `${id} is not a member`, { field: `remove[${i}]` })
  const deadline = d.ticks.now() + timeoutMs
  const todo = adds.filter((a) => kindOf(raft.conf, a.id) !== a.as)
  if (todo.length === 0 && removes.length === 0) return { index: raft.log.applied }
  const newVoters = todo.filter((a) => a.as === 'voter').map((a) => a.id)
  const toLearn = newVoters.filter((id) => kindOf(raft.conf, id) !== 'learner')
  if (toLearn.length > 0)
    await applyChange(
      d,
      toLearn.map((id) => ({ type: 'learner', id })),
      deadline,
    )
  if (newVoters.length > 0) await waitCaughtUp(d, newVoters, deadline)
  const items: ConfChangeItem[] = [
    ...todo.map((a) => ({ type: a.as, id: a.id })),
    ...removes.map((id) => ({ type: 'remove' as const, id })),
  ]
  return { index: await applyChange(d, items, deadline) }
}

function checkId(id: unknown, field: string, seen: Set<PeerId>): void {
  if (typeof id !== 'string' || id === '')
    throw new PeerError('ERR_INVALID', 'member id must be a non-empty string', { field })
  if (seen.has(id)) throw new PeerError('ERR_INVALID', `${id} is named twice`, { field })
  seen.add(id)
}

export async function removeMember(d: PeerDriver, id: PeerId, timeoutMs: number): Promise<{ index: number }> {
  requireLeader(d, 'removeMember')
  if (kindOf(d.node.raft.conf, id) === null)
    throw new PeerError('ERR_MEMBERSHIP', `${id} is not a member`, { field: 'id' })
  const deadline = d.ticks.now() + timeoutMs
  return { index: await applyChange(d, [{ type: 'remove', id }], deadline) }
}

/** The data voter (not this peer) holding the most of the log. */
export function bestTransferee(d: PeerDriver): PeerId | null {
  const raft = d.node.raft
  let best: PeerId | null = null
  let bestMatch = -1
  for (const id of allVoters(raft.conf)) {
    if (id === raft.id || raft.conf.witnesses.includes(id)) continue
    const match = raft.progress.get(id)?.match ?? 0
    if (match > bestMatch) {
      best = id
      bestMatch = match
    }
  }
  return best
}

export async function transferLeadership(
  d: PeerDriver,
  to: PeerId | undefined,
  timeoutMs: number,
): Promise<void> {
  requireLeader(d, 'transferLeadership')
  const raft = d.node.raft
  const target = to ?? bestTransferee(d)
  if (!target) throw new PeerError('ERR_MEMBERSHIP', 'no other data voter to hand leadership to')
  if (target === raft.id) return
  if (!allVoters(raft.conf).includes(target) || raft.conf.witnesses.includes(target))
    throw new PeerError('ERR_MEMBERSHIP', `${target} is not a data voter`, { field: 'to' })
  d.node.transferLeadership(target)
  d.schedule()
  await d.waitUntil(
    () => raft.lead === target,
    d.ticks.now() + timeoutMs,
    () => new PeerError('ERR_TIMEOUT', `leadership did not move to ${target} in time`),
  )
}
