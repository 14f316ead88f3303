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
import { handleVoteRequest, hup, learnCommit, mayCampaign } from './election.js'
import { RaftError } from './errors.js'
import { stepCandidate, stepFollower } from './follower.js'
import { appendEntries, committedInCurrentTerm, leaderPropose, maybeCommit, stepLeader } from './leader.js'
import {
  type ConfState,
  type Entry,
  EntryType,
  type Message,
  MessageType,
  NONE,
  type PeerId,
  type SnapshotChunk,
  type SnapshotMeta,
} from './messages.js'
import { Progress } from './progress.js'
import { jointValue, jointVote } from './quorum.js'
import { RaftLog } from './raft-log.js'
import { ReadOnlyQueue, readKey } from './read-only.js'
import {
  type Freshness,
  PROBE_HEADER,
  PROBE_TAG,
  ReadMode,
  type ReadState,
  type Role,
  transferStamp,
} from './read-types.js'
import { abortLeaderTransfer, transferTo } from './reads.js'
import { bcastAppend } from './replication.js'

export { type Freshness, ReadMode, type ReadState, type Role } from './read-types.js'

/**
 * The Raft consensus module: a deterministic state machine with no I/O, no timers and no clock
 * of its own. Inputs are `tick` and `step`; outputs accumulate in `msgs`, `readStates` and the
 * log, and are drained by RawNode as a Ready. Role behaviour lives beside it, as in etcd:
 * election.ts, follower.ts, leader.ts, replication.ts, reads.ts. Its fields are shared with those modules and
 * are not an API: drive Raft through RawNode.
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
  /**
   * Ticks since a leader last spoke to us. Votes are refused while it is below electionTick: a
   * lease may count on us. It starts at 0, so a restarted peer refuses votes for one election
   * timeout too; only a leader's message resets it (not our own campaign).
   */
  sinceLeader = 0
  /**
   * Newest heartbeat stamp (the leader's tick) we acknowledged from this term's leader: a
   * transfer vote carrying an older transfer stamp belongs to a transfer the leader gave up.
   * Infinite after a restart: what we acknowledged before is lost, so no transfer vote of the
   * term we restarted in is honoured.
   */
  leaderStamp = Number.POSITIVE_INFINITY
  leadTransferee: PeerId = NONE
  /** Leader: our tick when the current transfer began; heartbeats carry it while it lasts. */
  transferStamp = 0
  pendingConfIndex = 0
  leaderTicks = 0
  /** Lease acks older than this tick do not count (set when a transfer is aborted). */
  leaseFloor = Number.NEGATIVE_INFINITY
  /** Last lease expiry seen while leader: used only by the leaseAfterStepDown fault. */
  staleLeaseExpiry = Number.NEGATIVE_INFINITY
  freshness: Freshness | null = null
  /** How often a deliberately broken rule (config.faults) changed the outcome. */
  faultHits = 0
  /** Reported by the leader to this witness. */
  witnessSafeIndex = 0
  localCall = false
  votes = new Map<PeerId, boolean>()
  readOnly = new ReadOnlyQueue()
  pendingReads: Message[] = []
  probes = new Map<string, number>()
  probeSeq = 0
  /** Distinguishes this run's probes from a previous run's (whose replies may still arrive). */
  readonly probeNonce: number
  lastProbeTick = Number.NEGATIVE_INFINITY
  /** The snapshot being received in chunks, from whom, and how many bytes came in order. */
  incoming: {
    from: PeerId
    term: number
    meta: SnapshotMeta
    total: number
    received: number
  } | null = null
  /** Accepted incoming chunks not yet handed to the driver to write (see Ready.snapshotChunks). */
  snapshotChunks: SnapshotChunk[] = []
  snapshotStall = new Map<PeerId, number>()

  constructor(config: RaftConfig) {
    this.cfg = resolveConfig(config)
    this.id = this.cfg.id
    this.log = new RaftLog(this.cfg.storage, this.cfg.maxApplyBytes)
    this.probeNonce =
      Math.floor(this.cfg.random() * 2 ** 26) * 2 ** 26 + Math.floor(this.cfg.random() * 2 ** 26)
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
    this.leaderStamp = Number.POSITIVE_INFINITY
  }

  get isWitness(): boolean {
    return this.cfg.witness || this.conf.witnesses.includes(this.id)
  }

  get faults() {
    return this.cfg.faults
  }

  // ---- role transitions ----

  reset(term: number): void {
    if (this.term !== term) {
      this.term = term
      this.vote = NONE
      this.leaderStamp = Number.NEGATIVE_INFINITY
    }
    this.lead = NONE
    this.electionElapsed = 0
    this.heartbeatElapsed = 0
    this.resetRandomizedElectionTimeout()
    abortLeaderTransfer(this)
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

  resetRandomizedElectionTimeout(): void {
    const e = this.cfg.electionTick
    // Lower-priority peers wait longer, so a healthy preferred peer campaigns first.
    const prio = this.priorityOf(this.id)
    const best = Math.max(...allVoters(this.conf).map((id) => this.priorityOf(id)), prio)
    const rank = Math.min(2, Math.max(0, best - prio))
    this.randomizedElectionTimeout = e + Math.floor(this.cfg.random() * e) + rank * e
  }

  priorityOf(id: PeerId): number {
    return this.conf.witnesses.includes(id) ? Number.NEGATIVE_INFINITY : this.cfg.priority(id)
  }

  becomeFollower(term: number, lead: PeerId): void {
    if (this.role === 'leader' && this.faults.leaseAfterStepDown) this.staleLeaseExpiry = this.leaseExpiry()
    this.reset(term)
    this.role = 'follower'
    this.lead = lead
  }

  becomePreCandidate(): void {
    // Pre-vote changes neither term nor vote: a partitioned peer cannot disrupt the group.
    this.votes.clear()
    this.role = 'precandidate'
    this.lead = NONE
  }

  becomeCandidate(): void {
    this.reset(this.term + 1)
    this.vote = this.id
    this.role = 'candidate'
  }

  becomeLeader(): void {
    this.reset(this.term)
    this.role = 'leader'
    this.lead = this.id
    this.leaderTicks = 0
    this.selfProgress()?.becomeReplicate()
    this.pendingConfIndex = this.log.lastIndex()
    // The no-op entry of the new term: committing it commits every earlier entry (§5.4.2).
    appendEntries(this, [{ term: 0, index: 0, type: EntryType.Normal, data: new Uint8Array(0) }])
    // Announce ourselves at once rather than at the next heartbeat.
    bcastAppend(this)
  }

  isVoter(): boolean {
    return allVoters(this.conf).includes(this.id)
  }

  selfProgress(): Progress | undefined {
    return this.progress.get(this.id)
  }

  promotable(): boolean {
    return allVoters(this.conf).includes(this.id) && this.progress.has(this.id) && !this.log.unstableSnapshot
  }

  // ---- ticks ----

  tick(): void {
    this.ticks++
    this.sinceLeader++
    if (this.role === 'leader') this.tickHeartbeat()
    else this.tickElection()
    this.maybeProbeFreshness()
  }

  tickElection(): void {
    this.electionElapsed++
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0
      this.step({ type: MessageType.Hup, from: this.id, to: this.id, term: 0 })
    }
  }

  tickHeartbeat(): void {
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
      if (this.leadTransferee !== NONE) abortLeaderTransfer(this)
    }
    if (this.role !== 'leader') return
    if (this.heartbeatElapsed >= this.cfg.heartbeatTick) {
      this.heartbeatElapsed = 0
      this.step({ type: MessageType.Beat, from: this.id, to: this.id, term: 0 })
    }
    this.maybeTransferToPreferred()
  }

  quorumActive(): boolean {
    const active = new Map<PeerId, boolean>()
    for (const [id, pr] of this.progress) active.set(id, id === this.id || pr.recentActive)
    return jointVote(this.conf.voters, this.conf.outgoing, active) === 'won'
  }

  /** A witness hands leadership to a caught-up data voter at once; others defer to priority. */
  maybeTransferToPreferred(): void {
    if (this.leadTransferee !== NONE) return
    // A witness or a removed leader hands over at once; others defer to priority.
    const witness = this.isWitness || !this.isVoter()
    if (!witness && this.leaderTicks < this.cfg.electionTick) return
    const last = this.log.lastIndex()
    let best: PeerId = NONE
    let bestPrio = witness ? Number.NEGATIVE_INFINITY : this.priorityOf(this.id)
    // Incoming voters only: an outgoing one is being removed.
    for (const id of this.conf.voters) {
      if (id === this.id || this.conf.witnesses.includes(id)) continue
      const pr = this.progress.get(id)
      if (!pr || pr.match !== last || !pr.recentActive) continue
      const prio = this.priorityOf(id)
      if (prio > bestPrio || (witness && best === NONE)) {
        best = id
        bestPrio = prio
      }
    }
    if (best !== NONE) transferTo(this, best)
  }

  // ---- freshness proofs (bounded-staleness reads) ----

  maybeProbeFreshness(): void {
    const every = this.cfg.freshnessProbeTicks
    if (every <= 0 || this.isWitness || this.lead === NONE) return
    if (this.ticks - this.lastProbeTick < every) return
    this.lastProbeTick = this.ticks
    // Tagged with our id, and with this run's nonce: a reply to the previous run's probe with the
    // same sequence number must not prove anything now.
    const id = new TextEncoder().encode(this.id)
    const ctx = new Uint8Array(PROBE_HEADER + id.length)
    ctx[0] = PROBE_TAG
    const view = new DataView(ctx.buffer)
    view.setFloat64(1, this.probeNonce)
    view.setFloat64(9, ++this.probeSeq)
    ctx.set(id, PROBE_HEADER)
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
    if ((m.type === MessageType.Vote || m.type === MessageType.PreVote) && !mayCampaign(this, m)) {
      // Before any term change: a removed peer must not disrupt the group.
      return
    }
    if (m.term === 0) {
      // local message or a forwarded request
    } else if (m.term > this.term) {
      if (m.type === MessageType.Vote || m.type === MessageType.PreVote) {
        if (this.inLease() && !this.honoursTransfer(m)) return
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
      learnCommit(this, m)
    switch (m.type) {
      case MessageType.Hup:
        hup(this)
        return
      case MessageType.Vote:
      case MessageType.PreVote:
        handleVoteRequest(this, m)
        return
    }
    switch (this.role) {
      case 'leader':
        stepLeader(this, m)
        break
      case 'candidate':
      case 'precandidate':
        stepCandidate(this, m)
        break
      default:
        stepFollower(this, m)
    }
  }

  /** A leader may still count on our acknowledgement: refuse votes (check-quorum). */
  inLease(): boolean {
    if (!this.cfg.checkQuorum) return false
    return this.role === 'leader' || this.sinceLeader < this.cfg.electionTick
  }

  /**
   * A transfer vote overrides the lease only for a transfer our leader had not given up when we
   * last acknowledged it: its stamp must be at least the newest heartbeat stamp we acknowledged.
   */
  honoursTransfer(m: Message): boolean {
    const stamp = transferStamp(m)
    if (stamp === undefined) return false
    // A candidate two terms ahead: a leader was elected after ours, so our lease has ended.
    if (m.term > this.term + 1) return true
    // Our own transfer, still under way: step down for it.
    if (this.role === 'leader') return m.from === this.leadTransferee && stamp === this.transferStamp
    return stamp >= this.leaderStamp
  }

  // ---- leader ----

  /** The driver persisted entries up to `index`: the leader's own copy now counts. */
  onStable(index: number): void {
    if (this.role !== 'leader') return
    const self = this.selfProgress()
    if (self?.maybeUpdate(index) && maybeCommit(this)) bcastAppend(this)
  }

  // ---- reads ----

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
      committedInCurrentTerm(this) &&
      this.ticks < this.leaseExpiry()
    )
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

  dropProposal(_m: Message, reason: string): void {
    // A network message must never throw: a forwarded proposal may come back to its origin.
    if (this.localCall) throw new RaftError('ERR_PROPOSAL_DROPPED', `proposal dropped: ${reason}`)
  }

  // ---- leadership transfer ----

  // ---- membership ----

  rebuildProgress(): void {
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
    if (this.leadTransferee !== NONE && !this.conf.voters.includes(this.leadTransferee))
      abortLeaderTransfer(this)
    // The quorum changed: the commit index may move, and new members need the log.
    maybeCommit(this)
    bcastAppend(this)
  }

  /** Leader, after applying: leave a joint configuration that asked to be left automatically. */
  maybeAutoLeave(): void {
    if (this.role !== 'leader' || !isJoint(this.conf) || !this.conf.autoLeave) return
    if (this.pendingConfIndex > this.log.applied) return
    leaderPropose(this, {
      type: MessageType.Prop,
      from: NONE,
      to: this.id,
      term: 0,
      entries: [{ term: 0, index: 0, type: EntryType.ConfChange, data: encodeLeave() }],
    })
  }

  // ---- output ----

  send(m: Partial<Message> & { type: MessageType; to: PeerId }): void {
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
