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
async function change(d: PeerDriver, changes: ConfChangeItem[], deadline: number): Promise<number> {
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
    await change(d, [{ type: 'learner', id }], deadline)
  }
  if (as === 'voter') await waitCaughtUp(d, id, deadline)
  return { index: await change(d, [{ type: as, id }], deadline) }
}

async function waitCaughtUp(d: PeerDriver, id: PeerId, deadline: number): Promise<void> {
  const raft = d.node.raft
  const target = raft.log.lastIndex()
  await d.waitUntil(
    () => {
      // A leader that stepped down stops waiting; the promotion then fails with ERR_NOT_LEADER.
      if (raft.role !== 'leader') return true
      const pr = raft.progress.get(id)
      return pr !== undefined && pr.match >= target
    },
    deadline,
    () => new PeerError('ERR_TIMEOUT', `learner ${id} did not catch up to index ${target} in time`),
  )
}

export async function removeMember(d: PeerDriver, id: PeerId, timeoutMs: number): Promise<{ index: number }> {
  requireLeader(d, 'removeMember')
  if (kindOf(d.node.raft.conf, id) === null)
    throw new PeerError('ERR_MEMBERSHIP', `${id} is not a member`, { field: 'id' })
  const deadline = d.ticks.now() + timeoutMs
  return { index: await change(d, [{ type: 'remove', id }], deadline) }
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
