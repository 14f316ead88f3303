import { decodeCbor, encodeCbor } from '../codec/codec.js'
import { RaftError } from './errors.js'
import type { ConfState, PeerId } from './messages.js'

/**
 * Membership changes. A change that touches the voters goes through a joint configuration
 * (old and new voters must both agree) that is left by an empty change once applied; a change
 * that touches only learners applies directly.
 */
export type ConfChangeType = 'voter' | 'witness' | 'learner' | 'remove'

export interface ConfChangeItem {
  type: ConfChangeType
  id: PeerId
}

export interface ConfChange {
  /** Empty: leave the joint configuration. */
  changes: ConfChangeItem[]
}

const CONF_CHANGE_VERSION = 1

export function encodeConfChange(cc: ConfChange): Uint8Array {
  return encodeCbor([CONF_CHANGE_VERSION, cc.changes.map((c) => [c.type, c.id])])
}

export function decodeConfChange(data: Uint8Array): ConfChange {
  const [version, items] = decodeCbor<[number, [ConfChangeType, PeerId][]]>(data)
  if (version !== CONF_CHANGE_VERSION)
    throw new RaftError('ERR_INVALID_CONF_CHANGE', `conf change version ${version}`)
  return { changes: items.map(([type, id]) => ({ type, id })) }
}

export function emptyConfState(): ConfState {
  return { voters: [], outgoing: [], learners: [], learnersNext: [], witnesses: [], autoLeave: false }
}

export function isJoint(cs: ConfState): boolean {
  return cs.outgoing.length > 0
}

/** Voters of either half of the configuration. */
export function allVoters(cs: ConfState): PeerId[] {
  return [...new Set([...cs.voters, ...cs.outgoing])]
}

export function allMembers(cs: ConfState): PeerId[] {
  return [...new Set([...cs.voters, ...cs.outgoing, ...cs.learners, ...cs.learnersNext])]
}

function touchesVoters(cs: ConfState, cc: ConfChange): boolean {
  return cc.changes.some((c) => {
    const isVoter = cs.voters.includes(c.id)
    if (c.type === 'voter' || c.type === 'witness') {
      return !isVoter || cs.witnesses.includes(c.id) !== (c.type === 'witness')
    }
    return isVoter
  })
}

const without = (list: PeerId[], id: PeerId) => list.filter((x) => x !== id)
const withId = (list: PeerId[], id: PeerId) => (list.includes(id) ? list : [...list, id])

/** Applies `cc` to `cs` and returns the new configuration; throws on an invalid change. */
export function applyConfChange(cs: ConfState, cc: ConfChange): ConfState {
  if (cc.changes.length === 0) return leaveJoint(cs)
  if (isJoint(cs)) throw new RaftError('ERR_INVALID_CONF_CHANGE', 'configuration is joint: leave it first')
  const joint = touchesVoters(cs, cc)
  const next: ConfState = {
    voters: [...cs.voters],
    outgoing: joint ? [...cs.voters] : [],
    learners: [...cs.learners],
    learnersNext: [],
    witnesses: [...cs.witnesses],
    autoLeave: joint,
  }
  for (const { type, id } of cc.changes) {
    if (!id) throw new RaftError('ERR_INVALID_CONF_CHANGE', 'conf change names no peer')
    switch (type) {
      case 'voter':
      case 'witness':
        next.voters = withId(next.voters, id)
        next.learners = without(next.learners, id)
        next.learnersNext = without(next.learnersNext, id)
        if (type === 'witness') next.witnesses = withId(next.witnesses, id)
        else if (!next.outgoing.includes(id)) next.witnesses = without(next.witnesses, id)
        break
      case 'learner':
        if (next.voters.includes(id)) {
          next.voters = without(next.voters, id)
          if (next.outgoing.includes(id)) next.learnersNext = withId(next.learnersNext, id)
          else next.learners = withId(next.learners, id)
        } else {
          next.learners = withId(next.learners, id)
        }
        break
      case 'remove':
        next.voters = without(next.voters, id)
        next.learners = without(next.learners, id)
        next.learnersNext = without(next.learnersNext, id)
        break
      default:
        throw new RaftError('ERR_INVALID_CONF_CHANGE', `unknown conf change type ${String(type)}`)
    }
  }
  if (next.voters.length === 0)
    throw new RaftError('ERR_INVALID_CONF_CHANGE', 'the change removes every voter')
  if (next.voters.every((id) => next.witnesses.includes(id))) {
    throw new RaftError('ERR_INVALID_CONF_CHANGE', 'the change leaves no data voter')
  }
  // A witness keeps its flag while it is still an outgoing voter.
  next.witnesses = next.witnesses.filter((id) => next.voters.includes(id) || next.outgoing.includes(id))
  return next
}

function leaveJoint(cs: ConfState): ConfState {
  if (!isJoint(cs)) throw new RaftError('ERR_INVALID_CONF_CHANGE', 'configuration is not joint')
  const learners = [...cs.learners]
  for (const id of cs.learnersNext) if (!learners.includes(id)) learners.push(id)
  return {
    voters: [...cs.voters],
    outgoing: [],
    learners,
    learnersNext: [],
    witnesses: cs.witnesses.filter((id) => cs.voters.includes(id)),
    autoLeave: false,
  }
}
