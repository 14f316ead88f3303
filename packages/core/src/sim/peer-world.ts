import type { DriverFaults, PeerDriver } from '../peer/driver.js'
import { peerInternals } from '../peer/internals.js'
import { openPeer } from '../peer/open-peer.js'
import type { Bootstrap, Peer, PeerRole, Timers } from '../peer/types.js'
import type { ConfChangeItem } from '../raft/confchange.js'
import type { RaftFaults } from '../raft/config.js'
import { RaftError } from '../raft/errors.js'
import type { Entry } from '../raft/messages.js'
import type { RawNode, Ready } from '../raft/raw-node.js'
import type { ApplyResult } from '../state/state-machine.js'
import type { CheckedWorld } from './convergence.js'
import { EventQueue } from './event-queue.js'
import type { DelayRule, FaultWorld, LinkBlocks, NetworkFaults } from './fault-world.js'
import { HandoverCheck } from './handover-check.js'
import { observerFor } from './peer-observer.js'
import type { Rng } from './rng.js'
import { SafetyChecker } from './safety.js'
import { SimNetwork } from './sim-network.js'
import { type Scheduler, SimDisk } from './sim-storage.js'
import { StaleSuffixCounter } from './stale-suffix.js'
import { countPeerDelivery, emptyStats, type SimStats } from './stats.js'

export interface WorldPeer {
  readonly id: string
  readonly role: PeerRole
  /** The role, under the name the shared fault actions use. */
  readonly kind: PeerRole
  readonly priority: number
  readonly spare?: boolean
  readonly disk: SimDisk
  /** Null while down (crashed, or still opening). */
  peer: Peer | null
  driver: PeerDriver | null
  /** The running Raft node (null while down). */
  readonly node: RawNode | null
  /** openPeer is under way. */
  opening: boolean
  /** Bumped at every crash: callbacks of an older run are ignored. */
  gen: number
  /** This peer's clock runs at `rate` times the virtual clock (drift), from `offset`. */
  rate: number
  offset: number
  /** Timers stalled (a paused process): due timers wait here for the resume. */
  stalled: boolean
  held: (() => void)[]
  /** Extra ms on every disk write (a busy driver) and, for `slow`, on every message too. */
  applyDelay: number
  slow: number
  /** Between a Ready and its advance(). */
  readyInFlight: boolean
}

export interface WorldOptions {
  /** `spare`: not a founding member; it starts empty and waits to be added. */
  peers: { id: string; role: PeerRole; priority: number; spare?: boolean }[]
  bootstrap: Bootstrap
  rng: Rng
  tickMs: number
  electionTicks: number
  maxClockDrift: number
  snapshotEntries: number
  snapshotChunkBytes: number
  maxSizePerMsg: number
  faults: RaftFaults & DriverFaults
  trace: boolean
}

/** Drains every microtask the peers queued: one macrotask turn (core imports no Node built-ins). */
const barrier = (): Promise<void> =>
  new Promise((resolve) =>
    (globalThis as unknown as { setImmediate(fn: () => void): void }).setImmediate(resolve),
  )

/**
 * A simulated world of real `openPeer` instances on one virtual clock: storage and network
 * complete through the event queue, each peer's clock drifts and its timers can stall, and
 * Raft's safety is checked at every Ready, persist, apply and advance of every peer.
 */
export class PeerWorld implements Scheduler, FaultWorld<WorldPeer>, CheckedWorld<WorldPeer> {
  now = 0
  steps = 0
  readonly queue = new EventQueue<() => void>()
  readonly network: SimNetwork
  readonly safety: SafetyChecker
  readonly peers = new Map<string, WorldPeer>()
  readonly traceLines: string[] = []
  /** Return true to crash `p` right after a Ready became durable, before it sends anything. */
  crashAfterPersist: ((p: WorldPeer, rd: Ready) => boolean) | null = null
  /** Return true to crash `p` while a Ready's write is still in flight (it is lost). */
  crashBeforePersist: ((p: WorldPeer, rd: Ready) => boolean) | null = null
  /** Each entry a data peer applied (its first application of a write, and retries). */
  onApplied: ((p: WorldPeer, entry: Entry, result: ApplyResult) => void) | null = null
  onNewLeader: ((p: WorldPeer) => void) | null = null
  onOldTermCommit: ((p: WorldPeer) => void) | null = null
  readonly afterReady: ((p: WorldPeer) => void)[] = []
  readonly afterLeaderStep: ((p: WorldPeer) => void)[] = []
  /** How often each hard-to-reach situation occurred: evidence that the faults reach it. */
  readonly stats: SimStats = emptyStats()
  /** Leadership goes only to incoming voters (judged at each Ready and advance of every peer). */
  readonly handovers: HandoverCheck
  private readonly staleSuffix = new StaleSuffixCounter(this.stats)
  private held: { at: number; value: () => void } | undefined
  /** Peers that stopped: freed once the seed ends (a halted driver may still hold references). */
  private readonly stopped: PeerDriver[] = []
  /** `id@term` of the last leader seen (observers report each new one once). */
  lastLeader = ''

  constructor(readonly opts: WorldOptions) {
    this.network = new SimNetwork(
      this,
      opts.rng.fork(),
      (id) => this.peers.get(id)?.slow ?? 0,
      (id) => this.peers.get(id)?.gen ?? 0,
    )
    this.network.raftOf = (id) => this.peers.get(id)?.node?.raft
    const electionMs = opts.tickMs * opts.electionTicks
    this.network.onDeliver = (m, sentAt, sentGen) => {
      const to = this.peers.get(m.to)
      // The driver steps a message as it arrives: its Raft here is the one that takes it.
      if (to?.node) this.staleSuffix.beforeStep(to.node.raft, m)
      if (to)
        countPeerDelivery(
          this.stats,
          { now: this.now, electionMs, chunkBytes: opts.snapshotChunkBytes },
          to,
          m,
          sentAt,
          sentGen,
        )
    }
    this.safety = new SafetyChecker(() => Math.round(this.now * 1000) / 1000)
    this.handovers = new HandoverCheck((v) => this.safety.report(v), this.stats)
    this.afterLeaderStep.push((p) => {
      if (p.node) this.staleSuffix.noteLeader(p.node.raft)
    })
    const drift = opts.rng.fork()
    for (const p of opts.peers) {
      // Rates within ±40% of the drift bound of each other.
      const rate = 1 + (drift.next() - 0.5) * opts.maxClockDrift * 0.8
      const peer: WorldPeer = {
        ...p,
        kind: p.role,
        disk: new SimDisk(this, () => 0.2 + drift.next() * 3 + peer.applyDelay + peer.slow),
        peer: null,
        driver: null,
        get node() {
          return this.driver?.node ?? null
        },
        opening: false,
        gen: 0,
        rate,
        offset: drift.next() * 1e6,
        stalled: false,
        held: [],
        applyDelay: 0,
        slow: 0,
        readyInFlight: false,
      }
      this.peers.set(p.id, peer)
    }
  }

  get net(): NetworkFaults {
    return this.network.faults
  }

  set net(faults: NetworkFaults) {
    this.network.faults = faults
  }

  get blocked(): LinkBlocks {
    return this.network.blocked
  }

  get delays(): DelayRule[] {
    return this.network.delays
  }

  set delays(rules: DelayRule[]) {
    this.network.delays = rules
  }

  get timing() {
    return {
      tickMs: this.opts.tickMs,
      electionTick: this.opts.electionTicks,
      maxDrift: this.opts.maxClockDrift,
    }
  }

  isUp(p: WorldPeer): boolean {
    return p.peer !== null || p.opening
  }

  /** Rebased so the peer's clock stays continuous: only its rate changes. */
  setDrift(p: WorldPeer, drift: number): void {
    const clock = p.offset + this.now * p.rate
    p.rate = 1 / (1 + drift)
    p.offset = clock - this.now * p.rate
  }

  setApplyDelay(p: WorldPeer, ms: number): void {
    p.applyDelay = ms
  }

  setSlow(p: WorldPeer, ms: number): void {
    p.slow = ms
  }

  transferLeadership(leader: WorldPeer, target: string): void {
    leader.peer?.transferLeadership(target, { timeoutMs: 300 }).catch(() => {})
  }

  /** One change goes through the public API; several at once straight to Raft (joint consensus). */
  proposeConfChange(leader: WorldPeer, changes: ConfChangeItem[]): boolean {
    const peer = leader.peer
    const d = leader.driver
    if (!peer || !d) return false
    const report = (what: string) => [
      () => this.trace(`membership ${what} done`),
      (err: unknown) => this.trace(`membership ${what} failed: ${(err as { code?: string }).code}`),
    ]
    if (changes.length === 1) {
      const { type, id } = changes[0]
      const [ok, failed] = report(`${type} ${id}`)
      const change = type === 'remove' ? peer.removeMember(id) : peer.addMember(id, { as: type })
      change.then(ok, failed)
      return true
    }
    try {
      d.node.proposeConfChange({ changes })
    } catch (err) {
      if (!(err instanceof RaftError)) throw err
      return false
    }
    d.schedule()
    return true
  }

  changeMembers(leader: WorldPeer, add: string[], remove: string[]): void {
    const what = `+${add.join('+')} -${remove.join('-')}`
    leader.peer?.changeMembers({ add: add.map((id) => ({ id, as: 'voter' as const })), remove }).then(
      () => this.trace(`joint change ${what} done`),
      (err) => this.trace(`joint change ${what} failed: ${(err as { code?: string }).code}`),
    )
  }

  campaign(p: WorldPeer): void {
    p.driver?.node.campaign()
    p.driver?.schedule()
  }

  ticksCurrent(p: WorldPeer): boolean {
    return !p.stalled && p.driver !== null && p.driver.ticks.untilNextTick() > 0
  }

  at(time: number, fn: () => void): void {
    this.queue.push(Math.max(time, this.now), fn)
  }

  trace(line: string): void {
    if (this.opts.trace) this.traceLines.push(`${this.now.toFixed(3)} ${line}`)
  }

  /**
   * Runs events up to `until` (or until `stop()` holds), draining microtasks after each. Stops
   * for good once safety is broken: a group whose logs diverged may probe forever.
   */
  async run(until: number, stop?: () => boolean): Promise<void> {
    for (;;) {
      if (stop?.() || this.safety.violations.length > 0) return
      const ev = this.held ?? this.queue.pop()
      this.held = undefined
      if (!ev) break
      if (ev.at > until) {
        this.held = ev
        break
      }
      this.now = ev.at
      ev.value()
      await barrier()
      this.steps++
    }
    this.now = Math.max(this.now, until)
  }

  leader(): WorldPeer | undefined {
    let best: WorldPeer | undefined
    for (const p of this.peers.values()) {
      const raft = p.driver?.node.raft
      if (!p.peer || !raft || raft.role !== 'leader') continue
      if (!best || raft.term > best.driver!.node.raft.term) best = p
    }
    return best
  }

  /** Opens (or reopens) `p` over its disk; it counts as up once openPeer resolves. */
  start(p: WorldPeer): void {
    if (p.peer) return
    p.opening = true
    const gen = ++p.gen
    this.trace(`${p.id} starts (run ${gen})`)
    const o = this.opts
    openPeer({
      id: p.id,
      role: p.role,
      storage: p.disk.open(),
      transport: this.network.endpoint(p.id),
      bootstrap: p.spare ? undefined : o.bootstrap,
      raft: {
        tickMs: o.tickMs,
        electionTicks: o.electionTicks,
        heartbeatTicks: 1,
        priority: p.priority,
        priorityOf: (id) => this.peers.get(id)?.priority ?? 1,
        maxClockDrift: o.maxClockDrift,
        maxSizePerMsg: o.maxSizePerMsg,
        snapshotChunkBytes: o.snapshotChunkBytes,
      },
      snapshot: { entries: o.snapshotEntries },
      limits: { writeTimeoutMs: 1200, readTimeoutMs: 800 },
      clock: { now: () => p.offset + this.now * p.rate },
      timers: this.timersFor(p, gen),
      random: (
        (r: Rng) => () =>
          r.next()
      )(o.rng.fork()),
      testing: { faults: o.faults, observer: observerFor(this, p, gen) },
    }).then(
      (peer) => {
        const d = peerInternals.get(peer)!
        if (p.gen !== gen) {
          d.halt()
          this.stopped.push(d)
          return
        }
        p.opening = false
        p.peer = peer
        p.driver = d
        // The simulated disk never fails: a fail-stop here is a replica refusing its own state.
        peer.on('failed', ({ error }) => {
          if (p.gen === gen) this.safety.report(`${p.id} stopped on a local failure: ${error.message}`)
        })
      },
      (err) => {
        if (p.gen !== gen) return
        p.opening = false
        this.safety.report(`${p.id} failed to open: ${(err as Error).message}`)
      },
    )
  }

  /** Stops `p` dead: nothing more runs or is sent, and its disk keeps only what was synced. */
  crash(p: WorldPeer): void {
    this.trace(`${p.id} crashes`)
    p.gen++
    if (p.driver) {
      p.driver.halt()
      this.stopped.push(p.driver)
    }
    p.disk.crash()
    p.peer = null
    p.driver = null
    p.opening = false
    p.readyInFlight = false
    p.stalled = false
    p.held = []
    this.network.resume(p.id)
  }

  /** Freezes `p`'s timers and traffic for `ms` while its clock runs on (a paused process). */
  stall(p: WorldPeer, ms: number): void {
    if (!p.peer || p.stalled) return
    this.trace(`${p.id} stalls for ${ms.toFixed(0)} ms`)
    p.stalled = true
    this.network.pause(p.id)
    const gen = p.gen
    this.at(this.now + ms, () => {
      if (p.gen !== gen || !p.stalled) return
      this.trace(`${p.id} resumes`)
      p.stalled = false
      const due = p.held
      p.held = []
      this.network.resume(p.id)
      for (const fn of due) fn()
    })
  }

  private timersFor(p: WorldPeer, gen: number): Timers {
    return {
      setTimeout: (fn, ms) => {
        const timer = { p, gen, fn, cancelled: false }
        // Bound, not a named arrow: tsx's keepNames would wrap one per timer in a helper call.
        this.at(this.now + ms / p.rate, this.fire.bind(this, timer))
        return timer
      },
      clearTimeout: (handle) => {
        if (handle) (handle as { cancelled: boolean }).cancelled = true
      },
    }
  }

  /** A peer's timer is due: it runs, unless cancelled or of an older run; a stalled peer holds it. */
  private fire(timer: { p: WorldPeer; gen: number; fn: () => void; cancelled: boolean }): void {
    const { p } = timer
    if (timer.cancelled || p.gen !== timer.gen) return
    if (p.stalled) p.held.push(this.fire.bind(this, timer))
    else timer.fn()
  }

  /** Closes every peer and frees every state machine. */
  async dispose(): Promise<void> {
    for (const p of this.peers.values()) if (p.driver) this.crash(p)
    for (const d of this.stopped) d.sm?.free()
    this.stopped.length = 0
  }
}
