import { type ConfChange, encodeConfChange } from './confchange.js'
import type { RaftConfig } from './config.js'
import { RaftError } from './errors.js'
import {
  type ConfState,
  type Entry,
  EntryType,
  type HardState,
  type Message,
  MessageType,
  type PeerId,
  type SnapshotChunk,
  type SnapshotInfo,
  type SnapshotMeta,
} from './messages.js'
import { type Freshness, Raft, ReadMode, type ReadState, type Role } from './raft.js'

export interface SoftState {
  lead: PeerId
  role: Role
}

/**
 * One batch of work for the driver, handled in this order: write `snapshotChunks`, persist
 * `hardState`, `entries` and `snapshot` durably (and `witnessCompact`); then send `messages`
 * (filling chunk requests from storage); then apply `committedEntries` and answer
 * `readStates`; then call `advance()`.
 */
export interface Ready {
  softState: SoftState | null
  hardState: HardState | null
  entries: Entry[]
  /**
   * Chunks of an incoming snapshot, in order: write each to storage (offset 0 starts a new
   * write and discards any partial one). Their acks are in `messages`.
   */
  snapshotChunks: SnapshotChunk[]
  /**
   * An incoming snapshot whose bytes (the chunks written so far) are complete: commit that write
   * durably, replacing the log, then restore the state machine from it.
   */
  snapshot: SnapshotInfo | null
  committedEntries: Entry[]
  messages: Message[]
  readStates: ReadState[]
  /** True when the batch must be synced before messages leave (entries, vote or term changed). */
  mustSync: boolean
  /** A witness may drop its log up to here: every data voter holds it. */
  witnessCompact: SnapshotMeta | null
}

export interface PeerProgress {
  match: number
  next: number
  state: string
}

export interface RaftStatus {
  id: PeerId
  role: Role
  term: number
  vote: PeerId
  lead: PeerId
  commit: number
  applied: number
  firstIndex: number
  lastIndex: number
  conf: ConfState
  witness: boolean
  leaseValid: boolean
  ticks: number
  progress: Record<PeerId, PeerProgress>
}

const LOCAL_ONLY = new Set<number>([MessageType.Hup, MessageType.Beat, MessageType.Unreachable])

/** The thread-safe-by-construction wrapper the driver uses: inputs in, Ready out, advance. */
export class RawNode {
  readonly raft: Raft
  private prevHard: HardState
  private prevSoft: SoftState
  private handedTo = 0
  private pendingReady: Ready | null = null

  constructor(config: RaftConfig) {
    this.raft = new Raft(config)
    this.prevHard = this.hardState()
    this.prevSoft = this.softState()
  }

  tick(): void {
    this.raft.tick()
  }

  campaign(): void {
    this.raft.step({ type: MessageType.Hup, from: this.raft.id, to: this.raft.id, term: 0 })
  }

  /** Proposes commands; throws RaftError ERR_PROPOSAL_DROPPED if this peer cannot forward them. */
  propose(...data: Uint8Array[]): void {
    if (this.raft.isWitness)
      throw new RaftError('ERR_WITNESS', `peer ${this.raft.id} is a witness: it takes no writes`)
    const entries = data.map((d) => ({ term: 0, index: 0, type: EntryType.Normal, data: d }))
    this.raft.stepLocal({ type: MessageType.Prop, from: this.raft.id, to: this.raft.id, term: 0, entries })
  }

  proposeConfChange(cc: ConfChange): void {
    const entries = [{ term: 0, index: 0, type: EntryType.ConfChange, data: encodeConfChange(cc) }]
    this.raft.stepLocal({ type: MessageType.Prop, from: this.raft.id, to: this.raft.id, term: 0, entries })
  }

  /**
   * Asks for a read index; the answer arrives as a ReadState carrying `context`. With `lease`,
   * a leader holding a valid lease answers at once without a quorum round.
   */
  readIndex(context: Uint8Array, options: { lease?: boolean } = {}): void {
    if (this.raft.isWitness)
      throw new RaftError('ERR_WITNESS', `peer ${this.raft.id} is a witness: it serves no reads`)
    const index = options.lease ? ReadMode.Lease : ReadMode.Safe
    this.raft.step({
      type: MessageType.ReadIndex,
      from: this.raft.id,
      to: this.raft.id,
      term: 0,
      index,
      context,
    })
  }

  transferLeadership(to: PeerId): void {
    this.raft.step({ type: MessageType.TransferLeader, from: to, to: this.raft.id, term: 0 })
  }

  /** Feeds a message from another peer. */
  step(m: Message): void {
    if (LOCAL_ONLY.has(m.type)) return
    const isResponse =
      m.type === MessageType.AppResp ||
      m.type === MessageType.HeartbeatResp ||
      m.type === MessageType.SnapResp ||
      m.type === MessageType.VoteResp ||
      m.type === MessageType.PreVoteResp
    if (isResponse && !this.raft.progress.has(m.from)) return
    this.raft.step(m)
  }

  /** The driver could not deliver to `peer`: stop pipelining to it. */
  reportUnreachable(peer: PeerId): void {
    this.raft.step({ type: MessageType.Unreachable, from: peer, to: this.raft.id, term: this.raft.term })
  }

  freshness(): Freshness | null {
    return this.raft.currentFreshness()
  }

  hasReady(): boolean {
    const r = this.raft
    if (!sameSoft(this.softState(), this.prevSoft)) return true
    if (!sameHard(this.hardState(), this.prevHard)) return true
    if (r.log.unstableSnapshot || r.log.unstable.length > 0 || r.snapshotChunks.length > 0) return true
    if (r.msgs.length > 0 || r.readStates.length > 0) return true
    if (r.log.hasNextCommitted()) return true
    return this.witnessCompaction() !== null
  }

  ready(): Ready {
    if (this.pendingReady) throw new RaftError('ERR_UNAVAILABLE', 'advance() the previous Ready first')
    const r = this.raft
    const soft = this.softState()
    const hard = this.hardState()
    const committed = r.log.nextCommitted()
    if (committed.length > 0) {
      this.handedTo = committed[committed.length - 1].index
      r.log.applying = this.handedTo
    }
    const entries = r.log.unstable.slice()
    const rd: Ready = {
      softState: sameSoft(soft, this.prevSoft) ? null : soft,
      hardState: sameHard(hard, this.prevHard) ? null : hard,
      entries,
      snapshotChunks: r.snapshotChunks,
      snapshot: r.log.unstableSnapshot,
      // A witness applies configuration changes only; it holds no data.
      committedEntries: r.isWitness ? committed.filter((e) => e.type === EntryType.ConfChange) : committed,
      messages: r.msgs,
      readStates: r.readStates,
      mustSync: entries.length > 0 || hard.term !== this.prevHard.term || hard.vote !== this.prevHard.vote,
      witnessCompact: this.witnessCompaction(),
    }
    this.pendingReady = rd
    this.pendingCommitted = committed
    r.msgs = []
    r.readStates = []
    r.snapshotChunks = []
    this.prevSoft = soft
    this.prevHard = hard
    return rd
  }

  private pendingCommitted: Entry[] = []

  /** The driver has persisted, sent and applied everything in the last Ready. */
  advance(): void {
    const rd = this.pendingReady
    if (!rd) return
    this.pendingReady = null
    const r = this.raft
    if (rd.entries.length > 0) {
      const last = rd.entries[rd.entries.length - 1]
      r.log.stableTo(last.index, last.term)
      if (r.log.termOrUndefined(last.index) === last.term) r.onStable(last.index)
    }
    if (rd.snapshot) r.log.stableSnapTo(rd.snapshot.meta.index)
    for (const e of this.pendingCommitted) {
      // A snapshot restored since ready() already holds the configuration up to its index (and
      // moved `applied` there): an older change on top of it would rewind the membership.
      if (e.index <= r.log.applied) continue
      if (e.type === EntryType.ConfChange) {
        r.log.appliedTo(e.index)
        r.applyConfChangeEntry(e)
      }
    }
    if (this.pendingCommitted.length > 0)
      r.log.appliedTo(this.pendingCommitted[this.pendingCommitted.length - 1].index)
    this.pendingCommitted = []
    r.maybeAutoLeave()
  }

  private witnessCompaction(): SnapshotMeta | null {
    const r = this.raft
    if (!r.isWitness) return null
    const applied = r.log.applied
    const stable = r.log.storage
    if (applied - stable.firstIndex() + 1 < r.cfg.witnessCompactEntries) return null
    if (r.witnessSafeIndex < applied || applied > stable.lastIndex()) return null
    return { index: applied, term: r.log.term(applied), conf: r.conf }
  }

  status(): RaftStatus {
    const r = this.raft
    const progress: Record<PeerId, PeerProgress> = {}
    if (r.role === 'leader') {
      for (const [id, pr] of r.progress) progress[id] = { match: pr.match, next: pr.next, state: pr.state }
    }
    return {
      id: r.id,
      role: r.role,
      term: r.term,
      vote: r.vote,
      lead: r.lead,
      commit: r.log.committed,
      applied: r.log.applied,
      firstIndex: r.log.firstIndex(),
      lastIndex: r.log.lastIndex(),
      conf: r.conf,
      witness: r.isWitness,
      leaseValid: r.leaseValid(),
      ticks: r.ticks,
      progress,
    }
  }

  private hardState(): HardState {
    return { term: this.raft.term, vote: this.raft.vote, commit: this.raft.log.committed }
  }

  private softState(): SoftState {
    return { lead: this.raft.lead, role: this.raft.role }
  }
}

const sameHard = (a: HardState, b: HardState) =>
  a.term === b.term && a.vote === b.vote && a.commit === b.commit
const sameSoft = (a: SoftState, b: SoftState) => a.lead === b.lead && a.role === b.role
