import {
  allMembers,
  allVoters,
  applyConfChange,
  type ConfChange,
  decodeConfChange,
  encodeConfChange,
  isJoint,
} from './confchange.js'
import { type RaftConfig, type ResolvedConfig, resolveConfig } from './config.js'
import { RaftError } from './errors.js'
import type { Snapshot } from './messages.js'
import {
  type ConfState,
  type Entry,
  EntryType,
  type Message,
  MessageType,
  NONE,
  type PeerId,
} from './messages.js'
import { Progress } from './progress.js'
import { jointValue, jointVote } from './quorum.js'
import { RaftLog } from './raft-log.js'
import { ReadOnlyQueue, readKey } from './read-only.js'

export type Role = 'follower' | 'precandidate' | 'candidate' | 'leader'

/** How a ReadIndex request is confirmed (carried in the request's `index` field). */
export const ReadMode = { Safe: 0, Lease: 1, Probe: 2 } as const
export type ReadMode = (typeof ReadMode)[keyof typeof ReadMode]

/** A read that became safe: once `index` is applied, reading reflects every earlier write. */
export interface ReadState {
  index: number
  context: Uint8Array
  /** True when answered under the leader's lease rather than a quorum round. */
  lease: boolean
}

/** Proof for bounded-staleness reads: the group's commit index was >= `index` at local `tick`. */
export interface Freshness {
  index: number
  tick: number
}

const CAMPAIGN_TRANSFER = Uint8Array.of(0x54)
const isTransfer = (m: Message) => m.context?.length === 1 && m.context[0] === 0x54
const PROBE_TAG = 0xfe

/**
 * The Raft consensus module: a deterministic state machine with no I/O, no timers and no clock
 * of its own. Inputs are `tick` and `step`; outputs accumulate in `msgs`, `readStates` and the
 * log, and are drained by RawNode as a Ready.
 */
export class Raft {
  readonly id: PeerId
  readonly cfg: ResolvedConfig
  term = 0
  vote: PeerId = NONE
  lead: PeerId = NONE
  role: Role = 'follower'
  readonly log: RaftLog
  conf: ConfState
  progress = new Map<PeerId, Progress>()
  msgs: Message[] = []
  readStates: ReadState[] = []
  /** Monotonic local tick count: this peer's clock for leases and freshness proofs. */
  ticks = 0
  electionElapsed = 0
  heartbeatElapsed = 0
  randomizedElectionTimeout = 0
  /** After a restart, refuse votes for one election timeout: a lease may still count on us. */
  bootQuiet = true
  leadTransferee: PeerId = NONE
  pendingConfIndex = 0
  leaderTicks = 0
  /** Lease acks older than this tick do not count (set when a transfer is aborted). */
  leaseFloor = Number.NEGATIVE_INFINITY
  /** Last lease expiry seen while leader: used only by the leaseAfterStepDown fault. */
  staleLeaseExpiry = Number.NEGATIVE_INFINITY
  freshness: Freshness | null = null
  /** Leader to witness: every data voter holds entries up to here. */
  dataMatch = 0
  /** How often a deliberately broken rule (config.faults) changed the outcome. */
  faultHits = 0
  /** Reported by the leader to this witness. */
  witnessSafeIndex = 0
  private localCall = false
  private votes = new Map<PeerId, boolean>()
  private readOnly = new ReadOnlyQueue()
  private pendingReads: Message[] = []
  private probes = new Map<string, number>()
  private probeSeq = 0
  private lastProbeTick = Number.NEGATIVE_INFINITY
  private incoming: { meta: Snapshot['meta']; total: number; parts: Uint8Array[]; received: number } | null =
    null
  private snapshotStall = new Map<PeerId, number>()

  constructor(config: RaftConfig) {
    this.cfg = resolveConfig(config)
    this.id = this.cfg.id
    this.log = new RaftLog(this.cfg.storage, this.cfg.maxApplyBytes)
    const { hardState, conf } = this.cfg.storage.initialState()
    this.conf = conf
    if (hardState.term > 0 || hardState.commit > 0) {
      this.term = hardState.term
      this.vote = hardState.vote
      this.log.commitTo(Math.max(hardState.commit, this.log.committed))
    }
    if (this.cfg.applied > 0) this.log.appliedTo(Math.min(this.cfg.applied, this.log.committed))
    this.rebuildProgress()
    this.becomeFollower(this.term, NONE)
  }

  get isWitness(): boolean {
    return this.cfg.witness || this.conf.witnesses.includes(this.id)
  }

  private get faults() {
    return this.cfg.faults
  }

  // ---- role transitions ----

  private reset(term: number): void {
    if (this.term !== term) {
      this.term = term
      this.vote = NONE
    }
    this.lead = NONE
    this.electionElapsed = 0
    this.heartbeatElapsed = 0
    this.resetRandomizedElectionTimeout()
    this.abortLeaderTransfer()
    this.votes.clear()
    const last = this.log.lastIndex()
    for (const id of this.progress.keys()) {
      const fresh = new Progress(last + 1, this.cfg.maxInflightMsgs, this.cfg.maxInflightBytes)
      if (id === this.id) fresh.match = last
      this.progress.set(id, fresh)
    }
    this.pendingConfIndex = 0
    this.readOnly.clear()
    this.pendingReads = []
    this.snapshotStall.clear()
  }

  private resetRandomizedElectionTimeout(): void {
    const e = this.cfg.electionTick
    // Lower-priority peers wait longer, so a healthy preferred peer campaigns first.
    const prio = this.priorityOf(this.id)
    const best = Math.max(...allVoters(this.conf).map((id) => this.priorityOf(id)), prio)
    const rank = Math.min(2, Math.max(0, best - prio))
    this.randomizedElectionTimeout = e + Math.floor(this.cfg.random() * e) + rank * e
  }

  private priorityOf(id: PeerId): number {
    return this.conf.witnesses.includes(id) ? Number.NEGATIVE_INFINITY : this.cfg.priority(id)
  }

  becomeFollower(term: number, lead: PeerId): void {
    if (this.role === 'leader' && this.faults.leaseAfterStepDown) this.staleLeaseExpiry = this.leaseExpiry()
    this.reset(term)
    this.role = 'follower'
    this.lead = lead
  }

  private becomePreCandidate(): void {
    // Pre-vote changes neither term nor vote: a partitioned peer cannot disrupt the group.
    this.votes.clear()
    this.role = 'precandidate'
    this.lead = NONE
  }

  private becomeCandidate(): void {
    this.reset(this.term + 1)
    this.vote = this.id
    this.role = 'candidate'
  }

  private becomeLeader(): void {
    this.reset(this.term)
    this.role = 'leader'
    this.lead = this.id
    this.leaderTicks = 0
    this.selfProgress()?.becomeReplicate()
    this.pendingConfIndex = this.log.lastIndex()
    // The no-op entry of the new term: committing it commits every earlier entry (§5.4.2).
    this.appendEntries([{ term: 0, index: 0, type: EntryType.Normal, data: new Uint8Array(0) }])
    // Announce ourselves at once rather than at the next heartbeat.
    this.bcastAppend()
  }

  private isVoter(): boolean {
    return allVoters(this.conf).includes(this.id)
  }

  private selfProgress(): Progress | undefined {
    return this.progress.get(this.id)
  }

  private promotable(): boolean {
    return allVoters(this.conf).includes(this.id) && this.progress.has(this.id) && !this.log.unstableSnapshot
  }

  // ---- ticks ----

  tick(): void {
    this.ticks++
    if (this.role === 'leader') this.tickHeartbeat()
    else this.tickElection()
    this.maybeProbeFreshness()
  }

  private tickElection(): void {
    this.electionElapsed++
    if (this.electionElapsed >= this.cfg.electionTick) this.bootQuiet = false
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0
      this.step({ type: MessageType.Hup, from: this.id, to: this.id, term: 0 })
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++
    this.electionElapsed++
    this.leaderTicks++
    if (this.electionElapsed >= this.cfg.electionTick) {
      this.electionElapsed = 0
      if (this.cfg.checkQuorum) {
        if (!this.quorumActive()) {
          this.becomeFollower(this.term, NONE)
          return
        }
        for (const [id, pr] of this.progress) if (id !== this.id) pr.recentActive = false
      }
      if (this.leadTransferee !== NONE) this.abortLeaderTransfer()
    }
    if (this.role !== 'leader') return
    if (this.heartbeatElapsed >= this.cfg.heartbeatTick) {
      this.heartbeatElapsed = 0
      this.step({ type: MessageType.Beat, from: this.id, to: this.id, term: 0 })
    }
    this.maybeTransferToPreferred()
  }

  private quorumActive(): boolean {
    const active = new Map<PeerId, boolean>()
    for (const [id, pr] of this.progress) active.set(id, id === this.id || pr.recentActive)
    return jointVote(this.conf.voters, this.conf.outgoing, active) === 'won'
  }

  /** A witness hands leadership to a caught-up data voter at once; others defer to priority. */
  private maybeTransferToPreferred(): void {
    if (this.leadTransferee !== NONE) return
    // A witness or a removed leader hands over at once; others defer to priority.
    const witness = this.isWitness || !this.isVoter()
    if (!witness && this.leaderTicks < this.cfg.electionTick) return
    const last = this.log.lastIndex()
    let best: PeerId = NONE
    let bestPrio = witness ? Number.NEGATIVE_INFINITY : this.priorityOf(this.id)
    for (const id of allVoters(this.conf)) {
      if (id === this.id || this.conf.witnesses.includes(id)) continue
      const pr = this.progress.get(id)
      if (!pr || pr.match !== last || !pr.recentActive) continue
      const prio = this.priorityOf(id)
      if (prio > bestPrio || (witness && best === NONE)) {
        best = id
        bestPrio = prio
      }
    }
    if (best !== NONE) this.transferTo(best)
  }

  // ---- freshness proofs (bounded-staleness reads) ----

  private maybeProbeFreshness(): void {
    const every = this.cfg.freshnessProbeTicks
    if (every <= 0 || this.isWitness || this.lead === NONE) return
    if (this.ticks - this.lastProbeTick < every) return
    this.lastProbeTick = this.ticks
    // Tagged with our id: the leader queues reads by context, and every peer probes.
    const id = new TextEncoder().encode(this.id)
    const ctx = new Uint8Array(9 + id.length)
    ctx[0] = PROBE_TAG
    new DataView(ctx.buffer).setFloat64(1, ++this.probeSeq)
    ctx.set(id, 9)
    this.probes.set(readKey(ctx), this.ticks)
    if (this.probes.size > 64) this.probes.delete(this.probes.keys().next().value as string)
    this.step({
      type: MessageType.ReadIndex,
      from: this.id,
      to: this.id,
      term: 0,
      index: ReadMode.Probe,
      context: ctx,
    })
  }

  /** The newest proof that the group's commit index was >= `index` at local tick `tick`. */
  currentFreshness(): Freshness | null {
    if (this.isWitness) return null
    if (this.faults.unprovenStaleRead) return { index: this.log.committed, tick: this.ticks }
    return this.freshness
  }

  // ---- the step function ----

  step(m: Message): void {
    if (m.term === 0) {
      // local message or a forwarded request
    } else if (m.term > this.term) {
      if (m.type === MessageType.Vote || m.type === MessageType.PreVote) {
        const inLease =
          this.cfg.checkQuorum &&
          (this.lead !== NONE || this.bootQuiet) &&
          this.electionElapsed < this.cfg.electionTick
        if (!isTransfer(m) && inLease) return
      }
      if (m.type === MessageType.PreVote) {
        // Do not change term for a pre-vote.
      } else if (m.type === MessageType.PreVoteResp && !m.reject) {
        // Our own pre-vote succeeding: the term moves when the real election starts.
      } else if (
        m.type === MessageType.App ||
        m.type === MessageType.Heartbeat ||
        m.type === MessageType.Snap
      ) {
        this.becomeFollower(m.term, m.from)
      } else {
        this.becomeFollower(m.term, NONE)
      }
    } else if (m.term < this.term) {
      if (
        (this.cfg.checkQuorum || this.cfg.preVote) &&
        (m.type === MessageType.Heartbeat || m.type === MessageType.App)
      ) {
        // Tell a stale leader about the newer term so that it steps down.
        this.send({ type: MessageType.AppResp, to: m.from })
      } else if (m.type === MessageType.PreVote) {
        this.send({ type: MessageType.PreVoteResp, to: m.from, term: this.term, reject: true })
      }
      return
    }

    if ((m.type === MessageType.VoteResp || m.type === MessageType.PreVoteResp) && m.reject)
      this.learnCommit(m)
    switch (m.type) {
      case MessageType.Hup:
        this.hup(false)
        return
      case MessageType.Vote:
      case MessageType.PreVote:
        this.handleVoteRequest(m)
        return
    }
    switch (this.role) {
      case 'leader':
        this.stepLeader(m)
        break
      case 'candidate':
      case 'precandidate':
        this.stepCandidate(m)
        break
      default:
        this.stepFollower(m)
    }
  }

  private handleVoteRequest(m: Message): void {
    const canVote =
      this.vote === m.from ||
      (this.vote === NONE && this.lead === NONE) ||
      (m.type === MessageType.PreVote && m.term > this.term) ||
      (this.faults.doubleVote === true && m.type === MessageType.Vote)
    const respType = m.type === MessageType.Vote ? MessageType.VoteResp : MessageType.PreVoteResp
    if (canVote && this.log.isUpToDate(m.index ?? 0, m.logTerm ?? 0)) {
      this.send({ type: respType, to: m.from, term: m.term })
      if (m.type === MessageType.Vote) {
        this.electionElapsed = 0
        this.vote = m.from
      }
    } else {
      // Our commit point: a candidate holding that entry learns it is committed. Without this a
      // voter still in a joint configuration can wait forever on a removed peer's vote.
      const commit = this.log.committed
      this.send({
        type: respType,
        to: m.from,
        term: this.term,
        reject: true,
        index: commit,
        logTerm: this.log.termOrUndefined(commit),
      })
    }
  }

  private learnCommit(m: Message): void {
    if (m.index === undefined || m.logTerm === undefined) return
    if (m.index > this.log.committed && this.log.matchTerm(m.index, m.logTerm)) this.log.commitTo(m.index)
  }

  private hup(transfer: boolean): void {
    if (this.role === 'leader') return
    if (!this.promotable()) return
    if (this.hasUnappliedConfChanges()) return
    if (this.cfg.preVote && !transfer) this.campaign('pre')
    else this.campaign(transfer ? 'transfer' : 'election')
  }

  private hasUnappliedConfChanges(): boolean {
    if (this.log.applied >= this.log.committed) return false
    const lo = Math.max(this.log.applied + 1, this.log.firstIndex())
    const ents = this.log.slice(lo, this.log.committed + 1, Number.POSITIVE_INFINITY)
    return ents.some((e) => e.type === EntryType.ConfChange)
  }

  private campaign(kind: 'pre' | 'election' | 'transfer'): void {
    let term: number
    let type: MessageType
    if (kind === 'pre') {
      this.becomePreCandidate()
      term = this.term + 1
      type = MessageType.PreVote
    } else {
      this.becomeCandidate()
      term = this.term
      type = MessageType.Vote
    }
    if (this.poll(this.id, true) === 'won') {
      if (kind === 'pre') this.campaign('election')
      else this.becomeLeader()
      return
    }
    for (const id of allVoters(this.conf)) {
      if (id === this.id) continue
      this.send({
        type,
        to: id,
        term,
        index: this.log.lastIndex(),
        logTerm: this.log.lastTerm(),
        context: kind === 'transfer' ? CAMPAIGN_TRANSFER : undefined,
      })
    }
  }

  private poll(id: PeerId, granted: boolean): 'won' | 'lost' | 'pending' {
    if (!this.votes.has(id)) this.votes.set(id, granted)
    return jointVote(this.conf.voters, this.conf.outgoing, this.votes)
  }

  private stepCandidate(m: Message): void {
    const myResp = this.role === 'precandidate' ? MessageType.PreVoteResp : MessageType.VoteResp
    switch (m.type) {
      case MessageType.Prop:
        this.dropProposal(m, 'no leader')
        return
      case MessageType.App:
        this.becomeFollower(m.term, m.from)
        this.handleAppend(m)
        return
      case MessageType.Heartbeat:
        this.becomeFollower(m.term, m.from)
        this.handleHeartbeat(m)
        return
      case MessageType.Snap:
        this.becomeFollower(m.term, m.from)
        this.handleSnapshotChunk(m)
        return
      case MessageType.ReadIndex:
        this.dropRead(m)
        return
      case myResp: {
        const res = this.poll(m.from, !m.reject)
        if (res === 'won') {
          if (this.role === 'precandidate') this.campaign('election')
          else this.becomeLeader()
        } else if (res === 'lost') {
          this.becomeFollower(this.term, NONE)
        }
        return
      }
    }
  }

  private stepFollower(m: Message): void {
    switch (m.type) {
      case MessageType.Prop:
        if (this.lead === NONE) {
          this.dropProposal(m, 'no leader')
          return
        }
        this.send({ ...m, to: this.lead, term: 0 })
        return
      case MessageType.App:
        this.electionElapsed = 0
        this.lead = m.from
        this.handleAppend(m)
        return
      case MessageType.Heartbeat:
        this.electionElapsed = 0
        this.lead = m.from
        this.handleHeartbeat(m)
        return
      case MessageType.Snap:
        this.electionElapsed = 0
        this.lead = m.from
        this.handleSnapshotChunk(m)
        return
      case MessageType.TransferLeader:
        if (this.lead === NONE) return
        this.send({ ...m, to: this.lead, term: 0 })
        return
      case MessageType.TimeoutNow:
        this.hup(true)
        return
      case MessageType.ReadIndex:
        if (m.from === this.id && this.faults.leaseAfterStepDown && m.index === ReadMode.Lease) {
          if (this.ticks < this.staleLeaseExpiry) {
            this.faultHits++
            this.readStates.push({
              index: this.log.committed,
              context: m.context ?? new Uint8Array(0),
              lease: true,
            })
            return
          }
        }
        if (this.lead === NONE) {
          this.dropRead(m)
          return
        }
        this.send({ ...m, to: this.lead, term: 0 })
        return
      case MessageType.ReadIndexResp:
        this.handleReadIndexResp(m)
        return
    }
  }

  // ---- follower handlers ----

  private handleAppend(m: Message): void {
    const index = m.index ?? 0
    if (m.dataMatch !== undefined) this.witnessSafeIndex = Math.max(this.witnessSafeIndex, m.dataMatch)
    if (index < this.log.committed) {
      this.send({ type: MessageType.AppResp, to: m.from, index: this.log.committed })
      return
    }
    const lastNew = this.log.maybeAppend(index, m.logTerm ?? 0, m.commit ?? 0, m.entries ?? [])
    if (lastNew !== undefined) {
      this.send({ type: MessageType.AppResp, to: m.from, index: lastNew })
      return
    }
    const hint = this.log.findConflictByTerm(Math.min(index, this.log.lastIndex()), m.logTerm ?? 0)
    this.send({
      type: MessageType.AppResp,
      to: m.from,
      index,
      reject: true,
      rejectHint: hint.index,
      logTerm: hint.term,
    })
  }

  private handleHeartbeat(m: Message): void {
    if (m.dataMatch !== undefined) this.witnessSafeIndex = Math.max(this.witnessSafeIndex, m.dataMatch)
    this.log.commitTo(Math.min(m.commit ?? 0, this.log.lastIndex()))
    this.send({ type: MessageType.HeartbeatResp, to: m.from, index: m.index, context: m.context })
  }

  private handleSnapshotChunk(m: Message): void {
    const c = m.snapshot
    if (!c) return
    const meta = c.meta
    if (meta.index <= this.log.committed) {
      this.incoming = null
      this.send({ type: MessageType.AppResp, to: m.from, index: this.log.committed })
      return
    }
    const cur = this.incoming
    if (!cur || cur.meta.index !== meta.index || cur.meta.term !== meta.term) {
      if (c.offset !== 0) {
        this.send({ type: MessageType.SnapResp, to: m.from, index: meta.index, rejectHint: 0, reject: true })
        return
      }
      this.incoming = { meta, total: c.total, parts: [], received: 0 }
    }
    const inc = this.incoming!
    if (c.offset !== inc.received) {
      this.send({ type: MessageType.SnapResp, to: m.from, index: meta.index, rejectHint: inc.received })
      return
    }
    inc.parts.push(c.data)
    inc.received += c.data.length
    if (inc.received < inc.total) {
      this.send({ type: MessageType.SnapResp, to: m.from, index: meta.index, rejectHint: inc.received })
      return
    }
    this.incoming = null
    const data = concatBytes(inc.parts, inc.total)
    if (this.restore({ meta: inc.meta, data })) {
      this.send({ type: MessageType.AppResp, to: m.from, index: this.log.lastIndex() })
    } else {
      this.send({ type: MessageType.AppResp, to: m.from, index: this.log.committed })
    }
  }

  /** Installs a snapshot from the leader; false if it brings nothing new. */
  restore(s: Snapshot): boolean {
    if (s.meta.index <= this.log.committed) return false
    if (this.log.matchTerm(s.meta.index, s.meta.term)) {
      // We already hold the snapshot's last entry: just move the commit index.
      this.log.commitTo(s.meta.index)
      return false
    }
    this.log.restore(s)
    this.conf = s.meta.conf
    this.rebuildProgress()
    return true
  }

  private handleReadIndexResp(m: Message): void {
    const ctx = m.context ?? new Uint8Array(0)
    const key = readKey(ctx)
    const sentAt = this.probes.get(key)
    if (sentAt !== undefined) {
      this.probes.delete(key)
      const index = m.index ?? 0
      if (!this.freshness || this.freshness.tick < sentAt) this.freshness = { index, tick: sentAt }
      return
    }
    this.readStates.push({ index: m.index ?? 0, context: ctx, lease: m.reject === false })
  }

  // ---- leader ----

  private stepLeader(m: Message): void {
    switch (m.type) {
      case MessageType.Beat:
        this.bcastHeartbeat(this.readOnly.lastContext())
        return
      case MessageType.Prop:
        this.leaderPropose(m)
        return
      case MessageType.ReadIndex:
        this.leaderReadIndex(m)
        return
      case MessageType.TransferLeader:
        // As in etcd, `from` names the transferee.
        this.transferTo(m.from)
        return
    }
    const pr = this.progress.get(m.from)
    if (!pr) return
    switch (m.type) {
      case MessageType.AppResp:
        this.handleAppendResponse(m, pr)
        return
      case MessageType.HeartbeatResp:
        this.handleHeartbeatResponse(m, pr)
        return
      case MessageType.SnapResp:
        this.handleSnapshotResponse(m, pr)
        return
      case MessageType.Unreachable:
        if (pr.state === 'replicate') pr.becomeProbe()
        return
    }
  }

  private leaderPropose(m: Message): void {
    // Copied: a refused conf change is replaced below, and the message may be shared.
    const entries = (m.entries ?? []).slice()
    if (entries.length === 0) return
    if (this.isWitness) {
      this.dropProposal(m, 'a witness leader takes no proposals')
      return
    }
    if (this.leadTransferee !== NONE) {
      this.dropProposal(m, 'leadership transfer in progress')
      return
    }
    if (!this.isVoter()) {
      this.dropProposal(m, 'leader was removed from the voters')
      return
    }
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]
      if (e.type !== EntryType.ConfChange) continue
      const reason = this.confChangeRefusal(e.data)
      if (reason) {
        if (this.localCall) throw new RaftError('ERR_CONF_CHANGE_PENDING', reason)
        entries[i] = { ...e, type: EntryType.Normal, data: new Uint8Array(0) }
      } else {
        this.pendingConfIndex = this.log.lastIndex() + i + 1
      }
    }
    this.appendEntries(entries)
    this.bcastAppend()
  }

  private confChangeRefusal(data: Uint8Array): string | undefined {
    if (this.pendingConfIndex > this.log.applied) return 'a configuration change is still being applied'
    let cc: ConfChange
    try {
      cc = decodeConfChange(data)
      applyConfChange(this.conf, cc)
    } catch (err) {
      return (err as Error).message
    }
    return undefined
  }

  private appendEntries(entries: Entry[]): void {
    let index = this.log.lastIndex()
    const stamped = entries.map((e) => ({ term: this.term, index: ++index, type: e.type, data: e.data }))
    this.log.append(stamped)
    // The leader counts its own copy only once it is durable (see onStable).
  }

  /** The driver persisted entries up to `index`: the leader's own copy now counts. */
  onStable(index: number): void {
    if (this.role !== 'leader') return
    const self = this.selfProgress()
    if (self?.maybeUpdate(index) && this.maybeCommit()) this.bcastAppend()
  }

  private maybeCommit(): boolean {
    const index = jointValue(this.conf.voters, this.conf.outgoing, (id) => this.progress.get(id)?.match ?? 0)
    if (!Number.isFinite(index)) return false
    if (this.faults.commitPreviousTerm && index > this.log.committed && index <= this.log.lastIndex()) {
      if (this.log.termOrUndefined(index) !== this.term) this.faultHits++
      this.log.commitTo(index)
      return true
    }
    // Only an entry of the current term is committed by counting replicas (Raft Figure 8).
    const committed = this.log.maybeCommit(index, this.term)
    if (committed) this.releasePendingReads()
    return committed
  }

  private committedInCurrentTerm(): boolean {
    return this.log.termOrUndefined(this.log.committed) === this.term
  }

  private sendAppend(to: PeerId, allowEmpty = true): boolean {
    const pr = this.progress.get(to)
    if (!pr || pr.isPaused()) return false
    const prevIndex = pr.next - 1
    const prevTerm = this.log.termOrUndefined(prevIndex)
    let entries: Entry[] | undefined
    if (prevTerm !== undefined) {
      try {
        entries = this.log.entriesFrom(pr.next, this.cfg.maxSizePerMsg)
      } catch {
        entries = undefined
      }
    }
    if (prevTerm === undefined || entries === undefined) {
      this.sendSnapshot(to, pr)
      return true
    }
    if (entries.length === 0 && !allowEmpty) return false
    this.send({
      type: MessageType.App,
      to,
      index: prevIndex,
      logTerm: prevTerm,
      entries,
      commit: this.log.committed,
      dataMatch: this.dataMatchFor(to),
    })
    if (entries.length > 0) {
      const last = entries[entries.length - 1].index
      if (pr.state === 'replicate') {
        pr.next = last + 1
        pr.inflights.add(
          last,
          entries.reduce((n, e) => n + e.data.length, 0),
        )
      } else if (pr.state === 'probe') {
        pr.probeSent = true
      }
    } else if (pr.state === 'probe') {
      pr.probeSent = true
    }
    return true
  }

  private dataMatchFor(to: PeerId): number | undefined {
    if (!this.conf.witnesses.includes(to)) return undefined
    let min = this.log.committed
    // Every data member, learners too: any of them may become the voter that needs the entries.
    for (const id of allMembers(this.conf)) {
      if (this.conf.witnesses.includes(id)) continue
      min = Math.min(min, this.progress.get(id)?.match ?? 0)
    }
    return min
  }

  private sendSnapshot(to: PeerId, pr: Progress): void {
    if (!pr.recentActive) return
    // A witness holds no data to send; a data leader will bring this follower up to date.
    if (this.isWitness) return
    const snap = this.log.snapshot()
    pr.becomeSnapshot(snap.meta.index)
    this.sendSnapshotChunk(to, pr)
  }

  private sendSnapshotChunk(to: PeerId, pr: Progress): void {
    const snap = this.log.snapshot()
    if (snap.meta.index !== pr.pendingSnapshot) {
      pr.becomeSnapshot(snap.meta.index)
    }
    // A witness needs only the snapshot's metadata.
    const data = this.conf.witnesses.includes(to) ? new Uint8Array(0) : snap.data
    const chunk = data.subarray(pr.snapshotOffset, pr.snapshotOffset + this.cfg.snapshotChunkBytes)
    pr.snapshotAcked = false
    this.snapshotStall.set(to, 0)
    this.send({
      type: MessageType.Snap,
      to,
      snapshot: { meta: snap.meta, offset: pr.snapshotOffset, total: data.length, data: chunk },
    })
  }

  private bcastAppend(): void {
    for (const id of this.progress.keys()) if (id !== this.id) this.sendAppend(id)
  }

  private bcastHeartbeat(context?: Uint8Array): void {
    for (const [id, pr] of this.progress) {
      if (id === this.id) continue
      this.send({
        type: MessageType.Heartbeat,
        to: id,
        // The follower may only commit what it is known to hold.
        commit: Math.min(pr.match, this.log.committed),
        // The leader's clock at sending: echoed back, it dates the lease.
        index: this.ticks,
        context,
        dataMatch: this.dataMatchFor(id),
      })
    }
  }

  private handleAppendResponse(m: Message, pr: Progress): void {
    pr.recentActive = true
    const index = m.index ?? 0
    if (m.reject) {
      let next = m.rejectHint ?? 0
      if ((m.logTerm ?? 0) > 0) next = this.log.findConflictByTerm(next, m.logTerm ?? 0).index
      if (pr.maybeDecrTo(index, next)) {
        if (pr.state === 'replicate') pr.becomeProbe()
        this.sendAppend(m.from)
      }
      return
    }
    const wasPaused = pr.isPaused()
    if (!pr.maybeUpdate(index)) {
      if (wasPaused && !pr.isPaused()) this.sendAppend(m.from)
      return
    }
    if (pr.state === 'probe') pr.becomeReplicate()
    else if (pr.state === 'snapshot' && pr.match >= pr.pendingSnapshot) pr.becomeProbe()
    else if (pr.state === 'replicate') pr.inflights.freeLE(index)

    if (this.maybeCommit()) {
      this.bcastAppend()
    } else {
      let sent = false
      while (this.sendAppend(m.from, false)) {
        sent = true
        if (pr.state !== 'replicate') break
      }
      // A follower that was paused may have missed a commit index advance: tell it now.
      if (!sent && wasPaused) this.sendAppend(m.from)
    }
    if (m.from === this.leadTransferee && pr.match === this.log.lastIndex()) {
      this.send({ type: MessageType.TimeoutNow, to: m.from })
    }
  }

  private handleHeartbeatResponse(m: Message, pr: Progress): void {
    pr.recentActive = true
    pr.probeSent = false
    if (pr.state === 'replicate' && pr.inflights.full()) pr.inflights.freeFirst()
    if (m.index !== undefined && m.index >= this.leaseFloor && m.index > pr.leaseAckTick)
      pr.leaseAckTick = m.index
    if (pr.state === 'snapshot') {
      const stalls = (this.snapshotStall.get(m.from) ?? 0) + 1
      this.snapshotStall.set(m.from, stalls)
      if (!pr.snapshotAcked && stalls >= 3) this.sendSnapshotChunk(m.from, pr)
    } else if (pr.match < this.log.lastIndex()) {
      this.sendAppend(m.from)
    }
    if (!m.context || m.context.length === 0) return
    const acks = this.readOnly.ack(m.context, m.from)
    if (!acks) return
    const votes = new Map<PeerId, boolean>([...acks].map((id) => [id, true]))
    if (jointVote(this.conf.voters, this.conf.outgoing, votes) !== 'won') return
    for (const read of this.readOnly.advance(m.context)) {
      for (const request of read.requests) this.answerRead(request, read.index, false)
    }
  }

  private handleSnapshotResponse(m: Message, pr: Progress): void {
    pr.recentActive = true
    if (pr.state !== 'snapshot' || m.index !== pr.pendingSnapshot) return
    this.snapshotStall.set(m.from, 0)
    if (m.reject) {
      pr.snapshotOffset = 0
      pr.snapshotAcked = true
      this.sendSnapshotChunk(m.from, pr)
      return
    }
    pr.snapshotAcked = true
    const offset = m.rejectHint ?? 0
    if (offset > pr.snapshotOffset) {
      pr.snapshotOffset = offset
      this.sendSnapshotChunk(m.from, pr)
    }
  }

  // ---- reads ----

  private leaderReadIndex(m: Message): void {
    if (this.isWitness && m.from === this.id) {
      this.dropRead(m)
      return
    }
    if (!this.committedInCurrentTerm()) {
      // Until an entry of this term commits, our commit index may trail the group's.
      this.pendingReads.push(m)
      return
    }
    const voters = allVoters(this.conf)
    if (voters.length === 1 && voters[0] === this.id) {
      this.answerRead(m, this.log.committed, false)
      return
    }
    if (m.index === ReadMode.Lease && this.leaseValid()) {
      this.answerRead(m, this.log.committed, true)
      return
    }
    const ctx = m.context ?? new Uint8Array(0)
    this.readOnly.add(this.log.committed, m)
    this.readOnly.ack(ctx, this.id)
    // Probes wait for the next heartbeat; client reads are confirmed at once.
    if (m.index !== ReadMode.Probe) this.bcastHeartbeat(ctx)
  }

  private releasePendingReads(): void {
    if (this.pendingReads.length === 0 || !this.committedInCurrentTerm()) return
    const reads = this.pendingReads
    this.pendingReads = []
    for (const r of reads) this.leaderReadIndex(r)
  }

  private answerRead(request: Message, index: number, lease: boolean): void {
    const context = request.context ?? new Uint8Array(0)
    if (request.from === this.id) {
      this.handleReadIndexResp({
        type: MessageType.ReadIndexResp,
        from: this.id,
        to: this.id,
        term: 0,
        index,
        context,
        reject: !lease,
      })
    } else {
      this.send({ type: MessageType.ReadIndexResp, to: request.from, index, context, reject: !lease })
    }
  }

  /** The lease runs from the newest heartbeat a quorum has acknowledged. */
  leaseExpiry(): number {
    const start = jointValue(this.conf.voters, this.conf.outgoing, (id) =>
      id === this.id ? this.ticks : (this.progress.get(id)?.leaseAckTick ?? Number.NEGATIVE_INFINITY),
    )
    return start + this.cfg.leaseTicks
  }

  leaseValid(): boolean {
    return (
      this.role === 'leader' &&
      this.cfg.leaseTicks > 0 &&
      this.cfg.leaseEligible &&
      !this.isWitness &&
      this.isVoter() &&
      this.leadTransferee === NONE &&
      this.committedInCurrentTerm() &&
      this.ticks < this.leaseExpiry()
    )
  }

  private dropRead(_m: Message): void {
    // The caller times out and retries; a read has no effect to undo.
  }

  /** Steps a request made through this peer's own API: refusals throw to the caller. */
  stepLocal(m: Message): void {
    this.localCall = true
    try {
      this.step(m)
    } finally {
      this.localCall = false
    }
  }

  private dropProposal(_m: Message, reason: string): void {
    // A network message must never throw: a forwarded proposal may come back to its origin.
    if (this.localCall) throw new RaftError('ERR_PROPOSAL_DROPPED', `proposal dropped: ${reason}`)
  }

  // ---- leadership transfer ----

  transferTo(to: PeerId): void {
    if (this.role !== 'leader') return
    if (to === this.id || !allVoters(this.conf).includes(to) || this.conf.witnesses.includes(to)) return
    if (this.leadTransferee === to) return
    this.abortLeaderTransfer()
    this.leadTransferee = to
    // Followers obey TimeoutNow even within a lease, so the lease ends here.
    this.leaseFloor = Number.POSITIVE_INFINITY
    this.electionElapsed = 0
    const pr = this.progress.get(to)
    if (pr && pr.match === this.log.lastIndex()) this.send({ type: MessageType.TimeoutNow, to })
    else this.sendAppend(to)
  }

  private abortLeaderTransfer(): void {
    if (this.leadTransferee === NONE) return
    this.leadTransferee = NONE
    // Acks of heartbeats sent before now might predate the transfer.
    this.leaseFloor = this.ticks + 1
    for (const pr of this.progress.values()) pr.leaseAckTick = Number.NEGATIVE_INFINITY
  }

  // ---- membership ----

  private rebuildProgress(): void {
    const members = allMembers(this.conf)
    const next = this.log.lastIndex() + 1
    for (const id of members) {
      if (!this.progress.has(id)) {
        const pr = new Progress(next, this.cfg.maxInflightMsgs, this.cfg.maxInflightBytes)
        if (id === this.id) pr.match = next - 1
        this.progress.set(id, pr)
      }
    }
    for (const id of [...this.progress.keys()]) if (!members.includes(id)) this.progress.delete(id)
  }

  /** Applies a committed configuration change (called by RawNode when the entry is applied). */
  applyConfChangeEntry(e: Entry): void {
    let cc: ConfChange
    try {
      cc = decodeConfChange(e.data)
      this.conf = applyConfChange(this.conf, cc)
    } catch {
      // Every peer skips the same invalid entry, so the outcome stays deterministic.
      return
    }
    this.rebuildProgress()
    if (this.role !== 'leader') return
    // A removed or demoted leader keeps leading (it takes no proposals) until it has handed its
    // log to a caught-up voter: stepping down at once could leave the remaining voters, still in
    // the joint configuration, needing the vote of a peer whose log is longer than theirs.
    if (this.leadTransferee !== NONE && !allVoters(this.conf).includes(this.leadTransferee))
      this.abortLeaderTransfer()
    // The quorum changed: the commit index may move, and new members need the log.
    this.maybeCommit()
    this.bcastAppend()
  }

  /** Leader, after applying: leave a joint configuration that asked to be left automatically. */
  maybeAutoLeave(): void {
    if (this.role !== 'leader' || !isJoint(this.conf) || !this.conf.autoLeave) return
    if (this.pendingConfIndex > this.log.applied) return
    this.leaderPropose({
      type: MessageType.Prop,
      from: NONE,
      to: this.id,
      term: 0,
      entries: [{ term: 0, index: 0, type: EntryType.ConfChange, data: encodeLeave() }],
    })
  }

  // ---- output ----

  private send(m: Partial<Message> & { type: MessageType; to: PeerId }): void {
    const msg = { term: this.term, from: this.id, ...m } as Message
    // Local-only and forwarded requests carry term 0 (set by the caller).
    this.msgs.push(msg)
  }
}

let leaveBytes: Uint8Array | undefined
function encodeLeave(): Uint8Array {
  leaveBytes ??= encodeConfChange({ changes: [] })
  return leaveBytes
}

function concatBytes(parts: Uint8Array[], total: number): Uint8Array {
  if (parts.length === 1) return parts[0]
  const out = new Uint8Array(total)
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}
