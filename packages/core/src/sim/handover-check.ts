import { allVoters, isJoint } from '../raft/confchange.js'
import { type ConfState, type Message, MessageType, NONE, type PeerId } from '../raft/messages.js'
import type { Raft } from '../raft/raft.js'
import type { SimStats } from './stats.js'

const outgoingOnly = (conf: ConfState, id: PeerId) => conf.outgoing.includes(id) && !conf.voters.includes(id)
const describeConf = (c: ConfState) => `incoming {${c.voters.join(',')}}, outgoing {${c.outgoing.join(',')}}`

/**
 * Leadership is handed only to a voter of the leader's incoming configuration: a TimeoutNow
 * produced while the leader's configuration is joint, to a peer that is only an outgoing voter,
 * is a violation (that peer is being removed; once the joint configuration is left it hands over
 * again or steps down).
 *
 * A message is judged against the configuration its sender held when Raft produced it, not when
 * the driver sends it: a leader sends a Ready's messages after persisting it, by which time it
 * may have applied a change that made a correct transferee an outgoing voter. Raft's
 * configuration changes only in advance(), so messages still queued right after advance() were
 * produced under the configuration of the previous ready(), and a Ready's other messages under
 * the configuration it holds at ready().
 */
export class HandoverCheck {
  private readonly judged = new WeakSet<Message>()
  /** Per peer: the configuration at its last ready(). */
  private readonly confAtReady = new Map<PeerId, ConfState>()
  /** Per peer: the last term it was seen leading. */
  private readonly ledIn = new Map<PeerId, number>()
  /** `peer@term` of leaderships already counted in `preferredOutgoing`. */
  private readonly counted = new Set<string>()

  constructor(
    private readonly report: (violation: string) => void,
    private readonly stats: SimStats,
  ) {}

  /** At ready(): `messages` is the Ready's; those not judged yet were produced under `raft.conf`. */
  onReady(peer: PeerId, raft: Raft, messages: Message[]): void {
    this.judge(peer, messages, raft.conf)
    this.confAtReady.set(peer, raft.conf)
    if (raft.role === 'leader') this.countSituations(peer, raft)
  }

  /** Right after advance(): what is still queued was produced before it (advance() adds appends only). */
  onAdvanced(peer: PeerId, raft: Raft): void {
    const before = this.confAtReady.get(peer)
    if (before) this.judge(peer, raft.msgs, before)
  }

  private judge(peer: PeerId, messages: Message[], conf: ConfState): void {
    for (const m of messages) {
      if (m.type !== MessageType.TimeoutNow || this.judged.has(m)) continue
      this.judged.add(m)
      if (!isJoint(conf) || !outgoingOnly(conf, m.to)) continue
      this.report(
        `handover: ${peer} (term ${m.term}) sent TimeoutNow to ${m.to}, only an outgoing voter of its joint configuration (${describeConf(conf)})`,
      )
    }
  }

  /**
   * The situations the check exists for, counted once per leadership: a leader in a joint
   * configuration whose priority handover, if it looked at outgoing voters too, would pick one
   * (`preferredOutgoing`); and a peer that took office as an outgoing voter (`outgoingLeaders`),
   * which then has to hand over again once the joint configuration is left.
   */
  private countSituations(peer: PeerId, raft: Raft): void {
    const conf = raft.conf
    const fresh = this.ledIn.get(peer) !== raft.term
    this.ledIn.set(peer, raft.term)
    if (!isJoint(conf)) return
    if (fresh && outgoingOnly(conf, peer)) this.stats.outgoingLeaders++
    const key = `${peer}@${raft.term}`
    if (this.counted.has(key)) return
    const pick = preferredAmongAllVoters(raft)
    if (pick !== NONE && outgoingOnly(conf, pick)) {
      this.counted.add(key)
      this.stats.preferredOutgoing++
    }
  }
}

/**
 * The transferee Raft's priority handover would pick if it looked at both halves of a joint
 * configuration (its choice before issue 17's fix), ignoring a transfer already under way to an
 * outgoing voter (the planted bug's own).
 */
function preferredAmongAllVoters(r: Raft): PeerId {
  if (r.leadTransferee !== NONE && r.conf.voters.includes(r.leadTransferee)) return NONE
  const atOnce = r.isWitness || !r.isVoter()
  if (!atOnce && r.leaderTicks < r.cfg.electionTick) return NONE
  const last = r.log.lastIndex()
  let best: PeerId = NONE
  let bestPrio = atOnce ? Number.NEGATIVE_INFINITY : r.priorityOf(r.id)
  for (const id of allVoters(r.conf)) {
    if (id === r.id || r.conf.witnesses.includes(id)) continue
    const pr = r.progress.get(id)
    // A transfer already under way to `id` counts as picking it.
    const caughtUp = pr && (r.leadTransferee === id || (pr.match === last && pr.recentActive))
    if (!caughtUp) continue
    const prio = r.priorityOf(id)
    if (prio > bestPrio || (atOnce && best === NONE)) {
      best = id
      bestPrio = prio
    }
  }
  return best
}
