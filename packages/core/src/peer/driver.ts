// The loop: ticks, Ready handling (persist, then send, then apply), advance. A write travels
// proposal (proposals.ts) -> log (persist here) -> replicate (Raft) -> commit -> apply (here).

import { validateMessage } from '../codec/validate-message.js'
import { isJoint } from '../raft/confchange.js'
import type { RaftConfig } from '../raft/config.js'
import type { MemoryLog } from '../raft/log-storage.js'
import {
  type ConfState,
  type Entry,
  EntryType,
  type HardState,
  type Message,
  MessageType,
} from '../raft/messages.js'
import { RawNode, type Ready } from '../raft/raw-node.js'
import type { Session } from '../state/commands.js'
import type { ApplyResult, StateMachine } from '../state/state-machine.js'
import type { Storage } from '../storage/storage.js'
import type { Transport } from '../transport/transport.js'
import { TickClock } from './clock.js'
import { Emitter } from './emitter.js'
import { PeerError } from './errors.js'
import { membersOf } from './membership.js'
import { messageTypeName, PeerCounters } from './metrics.js'
import {
  dropCompleteTransfer,
  installSnapshot,
  maybeTakeSnapshot,
  type SnapshotState,
  sendChunk,
  snapshotState,
  writeChunks,
} from './snapshots.js'
import type { Clock, PeerEvents, PeerRole, Timers } from './types.js'

const EMPTY = new Uint8Array(0)
const LEADER_EARLY = new Set<number>([MessageType.App, MessageType.Heartbeat, MessageType.Snap])

/** Deliberately broken driver rules, for proving the simulator can fail. Never set outside tests. */
export interface DriverFaults {
  /** Send every message before the entries and hard state it depends on are durable. */
  sendBeforePersist?: boolean
  /** Serve reads by Raft's applied index instead of the state machine's. */
  readFromRaftApplied?: boolean
}

/** Hooks the simulator checks safety through; called synchronously at each point. */
export interface DriverObserver {
  /** A Ready was taken from Raft (before anything in it is persisted). */
  ready?(rd: Ready, node: RawNode): void
  /** Its entries and hard state are durable; return true to crash the peer right here. */
  persisted?(rd: Ready, node: RawNode): boolean | undefined
  /** A committed entry was applied to the state machine. */
  applied?(entry: Entry, result: ApplyResult): void
  /** Raft advanced (commit or role may have moved). */
  advanced?(node: RawNode): void
}

export interface DriverSettings {
  id: string
  role: PeerRole
  tickMs: number
  electionTicks: number
  maxClockDrift: number
  snapshotEntries: number
  snapshotBytes: number
  snapshotChunkBytes: number
  raft: Omit<RaftConfig, 'id' | 'storage' | 'applied'>
  clock: Clock
  timers: Timers
  faults: DriverFaults
  observer: DriverObserver
}

export interface DriverParts {
  storage: Storage
  transport: Transport
  log: MemoryLog
  sm: StateMachine | null
  snapshotIndex: number
}

export type PeerState = 'running' | 'closed' | 'failed'

/** Owns the Raft node and everything it touches; proposals.ts and reads.ts hook into it. */
export class PeerDriver {
  readonly node: RawNode
  readonly log: MemoryLog
  readonly storage: Storage
  readonly transport: Transport
  readonly ticks: TickClock
  readonly events = new Emitter<PeerEvents>()
  readonly counters = new PeerCounters()
  readonly snapshot: SnapshotState
  sm: StateMachine | null
  state: PeerState = 'running'
  failure: Error | null = null
  /** Called with each applied entry's result (data peers). */
  onApplied: (entry: Entry, result: ApplyResult, session: Session | undefined) => void = () => {}
  /** Called after every advance (applied index or membership may have moved). */
  readonly afterAdvance = new Set<() => void>()
  /** Called on every timer tick, after Raft ticked. */
  readonly onTick = new Set<() => void>()
  /** The leader's clock time when it persisted each recent entry (for lag in ms). */
  readonly appendTimes = new Map<number, number>()
  /** Set by reads.ts: a ReadIndex round, then wait until applied (used to re-judge writes). */
  linearizableCatchUp: (timeoutMs: number) => Promise<void> = async () => {}
  private readonly waiters = new Set<{ check(now: number): boolean }>()
  private timer: unknown = null
  private looping = false
  private scheduled = false
  private idle: Promise<void> = Promise.resolve()
  private pendingHard: HardState | null = null
  private durableHard: HardState | null = null
  private lastConf: ConfState
  private lastConfText: string

  constructor(
    readonly settings: DriverSettings,
    parts: DriverParts,
  ) {
    this.storage = parts.storage
    this.transport = parts.transport
    this.log = parts.log
    this.sm = parts.sm
    this.snapshot = snapshotState(parts.snapshotIndex, this.log.snapshot().size)
    this.node = new RawNode({
      ...settings.raft,
      id: settings.id,
      storage: this.log,
      applied: parts.snapshotIndex,
    })
    this.ticks = new TickClock(settings.clock, settings.tickMs, settings.electionTicks * 2, () =>
      this.node.tick(),
    )
    this.lastConf = this.node.raft.conf
    this.lastConfText = JSON.stringify(this.lastConf)
    this.transport.onMessage((m) => this.receive(m))
    void this.storage.failed?.then((error) => this.fail(error))
  }

  /** Runs the ticks the clock says are due (a stalled timer is caught up here). */
  catchUpTicks(): void {
    if (this.ticks.catchUp() > 0) this.schedule()
  }

  /**
   * Resolves once `done()` holds (checked after every advance and tick), rejects with
   * `timeout()` at the deadline or with ERR_CLOSED/ERR_FAILED when the peer stops.
   */
  waitUntil(done: () => boolean, deadline: number, timeout: () => Error): Promise<void> {
    return new Promise((resolve, reject) => {
      const w = {
        check: (now: number) => {
          if (this.state !== 'running') reject(this.stoppedError())
          else if (done()) resolve()
          else if (now >= deadline) reject(timeout())
          else return false
          return true
        },
      }
      if (!w.check(this.ticks.now())) this.waiters.add(w)
    })
  }

  private wakeWaiters(): void {
    const now = this.ticks.now()
    for (const w of [...this.waiters]) {
      let done: boolean
      try {
        done = w.check(now)
      } catch (err) {
        // A predicate that throws settles nothing; drop it rather than stall the others.
        console.error('flotilla: a wait predicate threw', err)
        done = true
      }
      if (done) this.waiters.delete(w)
    }
  }

  stoppedError(): PeerError {
    return this.state === 'failed'
      ? new PeerError('ERR_FAILED', `peer ${this.settings.id} stopped: ${this.failure?.message}`, {
          cause: this.failure,
        })
      : new PeerError('ERR_CLOSED', `peer ${this.settings.id} is closed`)
  }

  get isWitness(): boolean {
    return this.settings.role === 'witness'
  }

  /** The state machine's applied index: reads and snapshots go by it, never by Raft's. */
  get applied(): number {
    if (this.sm && !this.settings.faults.readFromRaftApplied) return this.sm.lastApplied
    return this.node.raft.log.applied
  }

  get conf(): ConfState {
    return this.node.raft.conf
  }

  get leader(): string | null {
    return this.node.raft.lead || null
  }

  start(): void {
    this.armTimer()
    this.schedule()
  }

  checkRunning(): void {
    if (this.state !== 'running') throw this.stoppedError()
  }

  /** Runs the Ready loop soon: inputs arriving meanwhile share one Ready (one save, one send). */
  schedule(): void {
    if (this.scheduled || this.looping || this.state !== 'running') return
    this.scheduled = true
    queueMicrotask(() => {
      this.scheduled = false
      if (!this.looping) this.idle = this.loop()
    })
  }

  /** Resolves once the Ready loop has nothing in flight. */
  settled(): Promise<void> {
    return this.idle
  }

  private async loop(): Promise<void> {
    this.looping = true
    try {
      while (this.state === 'running' && this.node.hasReady()) {
        const rd = this.node.ready()
        await this.handleReady(rd)
        if (this.state !== 'running') return
        this.node.advance()
        this.settings.observer.advanced?.(this.node)
        this.noticeConfChange()
        if (this.sm) await maybeTakeSnapshot(this)
        for (const fn of [...this.afterAdvance]) fn()
        this.wakeWaiters()
      }
    } catch (err) {
      this.fail(err as Error)
    } finally {
      this.looping = false
    }
  }

  private async handleReady(rd: Ready): Promise<void> {
    if (rd.softState) this.noticeSoftState(rd.softState.role, rd.softState.lead)
    // A leader may send its appends while it persists them (Raft thesis §10.2.1): it counts its
    // own copy toward commit only once durable. Its term and vote are already durable.
    this.settings.observer.ready?.(rd, this.node)
    const early = this.node.raft.role === 'leader' && !this.termOrVoteChanged(rd.hardState)
    let rest = rd.messages
    if (this.settings.faults.sendBeforePersist) {
      for (const m of rd.messages) this.send(m)
      rest = []
    } else if (early) {
      rest = []
      for (const m of rd.messages)
        if (LEADER_EARLY.has(m.type)) this.send(m)
        else rest.push(m)
    }
    // 1. Persist: nothing else leaves before what it depends on is durable.
    if (rd.snapshotChunks.length > 0) await writeChunks(this, rd.snapshotChunks)
    if (rd.snapshot) await installSnapshot(this, rd.snapshot)
    else if (rd.snapshotChunks.length > 0) await dropCompleteTransfer(this)
    const hard = rd.hardState ?? this.pendingHard
    if (rd.entries.length > 0 || (rd.hardState && rd.mustSync)) {
      const started = this.ticks.now()
      await this.storage.save({ entries: rd.entries, ...(hard ? { hardState: hard } : {}) })
      this.counters.fsync.observe((this.ticks.now() - started) / 1000)
      if (hard) this.durableHard = hard
      this.pendingHard = null
    } else if (rd.hardState) {
      // Only the commit index moved: Raft can relearn it, so it rides with the next durable save.
      this.pendingHard = rd.hardState
    }
    if (this.state !== 'running') return
    this.log.append(rd.entries)
    if (rd.hardState) this.log.setHardState(rd.hardState)
    if (rd.entries.length > 0 && this.node.raft.role === 'leader') {
      const now = this.ticks.now()
      for (const e of rd.entries) this.appendTimes.set(e.index, now)
    }
    if (rd.witnessCompact) {
      await this.storage.writeSnapshot(rd.witnessCompact, [])
      await this.storage.compact(rd.witnessCompact.index)
      this.log.createSnapshot(rd.witnessCompact, 0)
      this.snapshot.index = rd.witnessCompact.index
    }
    if (this.settings.observer.persisted?.(rd, this.node)) {
      this.halt()
      return
    }
    // 2. Send.
    for (const m of rest) this.send(m)
    // 3. Apply, in order.
    for (const e of rd.committedEntries) this.apply(e)
    this.readStates(rd)
  }

  private termOrVoteChanged(hard: HardState | null): boolean {
    if (!hard) return false
    const durable = this.durableHard ?? this.log.hardState()
    return hard.term !== durable.term || hard.vote !== durable.vote
  }

  /** Read states are handed on through this hook (reads.ts). */
  onReadState: (rd: Ready) => void = () => {}

  private readStates(rd: Ready): void {
    if (rd.readStates.length > 0) this.onReadState(rd)
  }

  private apply(e: Entry): void {
    const sm = this.sm
    if (!sm) return // a witness keeps the log only; Raft applies membership itself
    if (e.index <= sm.lastApplied) return
    if (e.type !== EntryType.Normal) {
      sm.apply(e.index, EMPTY)
      return
    }
    const started = this.ticks.now()
    const result = sm.apply(e.index, e.data)
    this.counters.apply.observe((this.ticks.now() - started) / 1000)
    this.settings.observer.applied?.(e, result)
    this.snapshot.appliedBytes += e.data.length
    this.onApplied(e, result, sm.appliedSession)
  }

  send(m: Message): void {
    // A chunk request: its bytes come from storage (sendChunk sends it filled).
    if (m.snapshot?.length !== undefined) {
      void sendChunk(this, m)
      return
    }
    const type = messageTypeName(m.type)
    if (m.type === MessageType.Snap && m.snapshot?.offset === 0) {
      this.counters.snapshotsSent++
      this.events.emit('snapshot', {
        kind: 'sent',
        index: m.snapshot.meta.index,
        bytes: m.snapshot.total,
        peer: m.to,
      })
    }
    if (this.transport.send(m)) {
      this.counters.sent.add(type)
      return
    }
    this.counters.dropped.add(type)
    if (m.type === MessageType.App || m.type === MessageType.Snap) this.node.reportUnreachable(m.to)
  }

  private receive(m: Message): void {
    if (this.state !== 'running') return
    // Any transport, in-memory ones too: nothing malformed reaches Raft.
    const invalid = m.to === this.settings.id ? validateMessage(m) : { reason: 'misaddressed' }
    if (invalid) {
      this.counters.dropped.add(`invalid:${invalid.reason}`)
      return
    }
    // Bring the ticks up to the clock first: a lease decision may be taken on this message.
    this.catchUpTicks()
    try {
      this.node.step(m)
      this.counters.received.add(messageTypeName(m.type))
    } catch (err) {
      // One bad message must never stop the peer; Raft's state is unchanged by a refused one.
      this.counters.dropped.add(`invalid:${(err as { code?: string }).code ?? 'error'}`)
    }
    this.schedule()
  }

  private noticeSoftState(role: string, lead: string): void {
    if (role === 'candidate') this.counters.electionsStarted++
    if (role === 'leader') this.counters.electionsWon++
    const term = this.node.raft.term
    this.events.emit('role', { role, term })
    this.events.emit('leader', { leader: lead || null, term })
    if (role !== 'leader') this.appendTimes.clear()
  }

  private noticeConfChange(): void {
    // Raft replaces its configuration object on every change: identity is enough (and cheap).
    const conf = this.node.raft.conf
    if (conf === this.lastConf) return
    const serialized = JSON.stringify(conf)
    const changed = serialized !== this.lastConfText
    this.lastConf = conf
    this.lastConfText = serialized
    if (!changed) return
    this.events.emit('membership', { members: membersOf(conf), joint: isJoint(conf) })
  }

  private armTimer(): void {
    if (this.state !== 'running') return
    this.timer = this.settings.timers.setTimeout(() => this.fire(), this.ticks.untilNextTick() + 0.5)
  }

  private fire(): void {
    this.timer = null
    if (this.state !== 'running') return
    try {
      if (this.ticks.catchUp() > 0) {
        for (const fn of [...this.onTick]) fn()
        this.wakeWaiters()
      }
    } catch (err) {
      // Only a bug gets here; a peer that stopped ticking would hang every caller: stop it.
      this.fail(err as Error)
      return
    }
    this.schedule()
    this.armTimer()
  }

  stopTimer(): void {
    if (this.timer !== null) this.settings.timers.clearTimeout(this.timer)
    this.timer = null
  }

  /**
   * Stops dead, as a crashed process would: no cleanup, no storage call, nothing sent. The
   * simulator's crash; storage keeps only what was durable.
   */
  halt(): void {
    if (this.state !== 'running') return
    this.state = 'closed'
    this.stopTimer()
    this.wakeWaiters()
  }

  /** Fail-stop: a local failure (storage, state machine) must not let this replica drift. */
  fail(error: Error): void {
    if (this.state !== 'running') return
    this.state = 'failed'
    this.failure = error
    this.stopTimer()
    this.events.emit('failed', { error })
    this.wakeWaiters()
    void this.releaseResources()
  }

  /** Saves a pending hard state and closes storage and transport; used by close() and fail(). */
  async releaseResources(): Promise<void> {
    try {
      if (this.state === 'closed' && this.pendingHard)
        await this.storage.save({ hardState: this.pendingHard })
    } catch {
      // The commit index is relearned from the leader on restart.
    }
    this.pendingHard = null
    // A transfer cut short: its bytes go (the next open would discard them anyway).
    await this.snapshot.incoming?.writer.abort().catch(() => {})
    this.snapshot.incoming = null
    await this.transport.close().catch(() => {})
    await this.storage.close().catch(() => {})
    this.sm?.free()
  }

  async close(): Promise<void> {
    if (this.state !== 'running') return
    this.stopTimer()
    this.state = 'closed'
    this.wakeWaiters()
    // A save in flight completes; nothing new starts.
    await this.idle
    await this.releaseResources()
    this.events.emit('closed', {})
  }
}
