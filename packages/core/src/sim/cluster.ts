import type { ConfChangeItem } from '../raft/confchange.js'
import type { RaftFaults } from '../raft/config.js'
import { RaftError } from '../raft/errors.js'
import { MemoryLog } from '../raft/log-storage.js'
import { MemorySnapshots } from '../raft/memory-snapshots.js'
import { type ConfState, EntryType, type Message, MessageType, type SnapshotMeta } from '../raft/messages.js'
import { RawNode, type Ready } from '../raft/raw-node.js'
import { readKey } from '../raft/read-only.js'
import { EventQueue } from './event-queue.js'
import { type DelayRule, extraDelay, type FaultWorld, LinkBlocks, type NetworkFaults } from './fault-world.js'
import { HandoverCheck } from './handover-check.js'
import { KvStore, SnapshotCorruptError } from './kv.js'
import { sendPaperTwin } from './paper-heartbeat.js'
import type { Rng } from './rng.js'
import { SafetyChecker } from './safety.js'
import { StaleSuffixCounter } from './stale-suffix.js'
import { countDelivery, emptyStats, type SimStats } from './stats.js'

export type PeerKind = 'data' | 'witness'
export { type DelayRule, LinkBlocks, type NetworkFaults }

export interface ClusterOptions {
  peers: { id: string; kind: PeerKind; priority: number }[]
  initialConf: ConfState
  rng: Rng
  tickMs: number
  electionTick: number
  heartbeatTick: number
  /** Bound on clock drift: every peer's tick period is within tickMs * (1 ± maxDrift). */
  maxDrift: number
  /** Every peer's clock at one end of the drift bound (else drawn within it). */
  extremeDrift: boolean
  snapshotChunkBytes: number
  /** Take a snapshot once this many entries are applied past the last one. */
  snapshotEvery: number
  /** Small values spread entries over many appends, so replication is often partial. */
  maxSizePerMsg: number
  faults: RaftFaults
  trace: boolean
}

type SimEvent =
  | { kind: 'tick'; peer: string; gen: number }
  | { kind: 'deliver'; msg: Message; sentAt: number; toGen: number }
  | { kind: 'ready'; peer: string; gen: number; rd: Ready }
  | { kind: 'call'; fn: () => void }

/** One simulated peer: its durable log survives a crash; everything else is lost. */
export class SimPeer {
  node: RawNode | null = null
  kv = new KvStore()
  gen = 0
  drift: number
  slow = 0
  /** The driver takes this long over each Ready while messages still arrive (a busy apply loop). */
  applyDelay = 0
  readyInFlight = false
  /** Numbers this peer's client reads: its read contexts. */
  readSeq = 0
  checkedCommit = 0
  readWaiters = new Map<string, (index: number, lease: boolean) => void>()
  applyWaiters: { index: number; fn: () => void }[] = []
  writeWaiters = new Map<string, (index: number) => void>()
  tickListeners = new Set<() => void>()
  readonly log: MemoryLog
  /** The snapshot bytes on its disk (the log keeps metadata and size). */
  readonly snaps = new MemorySnapshots()

  constructor(
    readonly id: string,
    readonly kind: PeerKind,
    readonly priority: number,
    conf: ConfState,
    drift: number,
  ) {
    this.log = new MemoryLog(conf)
    this.drift = drift
  }

  get up(): boolean {
    return this.node !== null
  }
}

/** The simulated world: peers, a lossy network, one virtual clock and one seeded random source. */
export class Cluster implements FaultWorld<SimPeer> {
  now = 0
  readonly peers = new Map<string, SimPeer>()
  readonly safety: SafetyChecker
  readonly traceLines: string[] = []
  net: NetworkFaults = { drop: 0, duplicate: 0, minDelay: 1, maxDelay: 5 }
  /** Directed links that drop everything: "from>to". */
  readonly blocked = new LinkBlocks()
  delays: DelayRule[] = []
  /** Checks run after every Ready a peer has handled (configuration agreement, etc.). */
  readonly afterReady: ((peer: SimPeer) => void)[] = []
  /** Checks run after every step of a leader (leases). */
  readonly afterLeaderStep: ((peer: SimPeer) => void)[] = []
  steps = 0
  /** How often each hard-to-reach situation occurred: evidence that the faults reach it. */
  readonly stats: SimStats = emptyStats()
  /** Leadership goes only to incoming voters (judged as each Ready is taken and advanced). */
  readonly handovers = new HandoverCheck((v) => this.safety.report(v), this.stats)
  private readonly staleSuffix = new StaleSuffixCounter(this.stats)
  /** Called once per new (leader, term), e.g. to crash fresh leaders in fault profiles. */
  onNewLeader: ((peer: SimPeer) => void) | null = null
  /** Crash point between the durable write of a Ready and its first message: return true to crash there. */
  crashAfterPersist: ((peer: SimPeer, rd: Ready) => boolean) | null = null
  private lastLeaderTerm = new Map<string, number>()
  private queue = new EventQueue<SimEvent>()

  constructor(readonly opts: ClusterOptions) {
    this.safety = new SafetyChecker(() => this.now)
    for (const p of opts.peers) {
      const drift = opts.extremeDrift
        ? (opts.rng.chance(0.5) ? 1 : -1) * opts.maxDrift
        : (opts.rng.next() * 2 - 1) * opts.maxDrift
      this.peers.set(p.id, new SimPeer(p.id, p.kind, p.priority, opts.initialConf, drift))
    }
    for (const peer of this.peers.values()) this.start(peer)
  }

  get timing() {
    const { tickMs, electionTick, maxDrift } = this.opts
    return { tickMs, electionTick, maxDrift }
  }

  isUp(peer: SimPeer): boolean {
    return peer.node !== null
  }

  setDrift(peer: SimPeer, drift: number): void {
    peer.drift = drift
  }

  setApplyDelay(peer: SimPeer, ms: number): void {
    peer.applyDelay = ms
  }

  setSlow(peer: SimPeer, ms: number): void {
    peer.slow = ms
  }

  transferLeadership(leader: SimPeer, target: string): void {
    leader.node?.transferLeadership(target)
  }

  proposeConfChange(leader: SimPeer, changes: ConfChangeItem[]): boolean {
    try {
      leader.node?.proposeConfChange({ changes })
      return leader.node !== null
    } catch (err) {
      if (!(err instanceof RaftError)) throw err
      return false
    }
  }

  campaign(peer: SimPeer): void {
    peer.node?.campaign()
  }

  trace(line: string): void {
    if (this.opts.trace) this.traceLines.push(`${this.now.toFixed(1).padStart(8)} ${line}`)
  }

  at(time: number, fn: () => void): void {
    this.queue.push(time, { kind: 'call', fn })
  }

  /** Runs events until `until` (virtual ms) or until `stop` returns true. */
  run(until: number, stop: () => boolean = () => false): void {
    for (;;) {
      const ev = this.queue.pop()
      if (!ev) return
      if (ev.at > until) {
        this.queue.push(ev.at, ev.value)
        this.now = until
        return
      }
      this.now = ev.at
      this.steps++
      this.handle(ev.value)
      if (stop()) return
    }
  }

  private handle(ev: SimEvent): void {
    switch (ev.kind) {
      case 'tick': {
        const peer = this.peers.get(ev.peer)!
        if (peer.gen !== ev.gen || !peer.node) return
        peer.node.tick()
        for (const fn of [...peer.tickListeners]) fn()
        this.afterStep(peer)
        this.queue.push(this.now + this.tickPeriod(peer), { kind: 'tick', peer: peer.id, gen: peer.gen })
        return
      }
      case 'deliver': {
        const m = ev.msg
        const peer = this.peers.get(m.to)
        if (!peer?.node || this.blocked.has(`${m.from}>${m.to}`)) return
        if (this.opts.trace) this.trace(`${m.from} -> ${m.to} ${describe(m)}`)
        const hadSnapshot = peer.node.raft.log.unstableSnapshot !== null
        this.staleSuffix.beforeStep(peer.node.raft, m)
        peer.node.step(m)
        countDelivery(this.stats, this, peer, ev, hadSnapshot)
        this.afterStep(peer)
        return
      }
      case 'ready': {
        const peer = this.peers.get(ev.peer)!
        if (peer.gen !== ev.gen || !peer.node) return
        this.handleReady(peer, ev.rd)
        peer.readyInFlight = false
        if (peer.node) this.afterStep(peer)
        return
      }
      case 'call':
        ev.fn()
        return
    }
  }

  private genOf(id: string): number {
    return this.peers.get(id)?.gen ?? 0
  }

  private tickPeriod(peer: SimPeer): number {
    return this.opts.tickMs * (1 + peer.drift)
  }

  start(peer: SimPeer): void {
    peer.gen++
    const snap = peer.log.snapshot()
    peer.kv = peer.kind === 'data' ? this.restoreKv(peer, snap.meta, peer.snaps.current?.data) : new KvStore()
    peer.node = new RawNode({
      id: peer.id,
      storage: peer.log,
      random: () => this.opts.rng.next(),
      electionTick: this.opts.electionTick,
      heartbeatTick: this.opts.heartbeatTick,
      maxClockDrift: this.opts.maxDrift,
      applied: snap.meta.index,
      maxSizePerMsg: this.opts.maxSizePerMsg,
      maxInflightMsgs: 8,
      snapshotChunkBytes: this.opts.snapshotChunkBytes,
      witnessCompactEntries: 8,
      priority: (id) => this.peers.get(id)?.priority ?? 1,
      witness: peer.kind === 'witness',
      faults: this.opts.faults,
    })
    peer.checkedCommit = snap.meta.index
    peer.readyInFlight = false
    this.trace(`${peer.id} starts (term ${peer.node.raft.term}, commit ${peer.node.raft.log.committed})`)
    this.queue.push(this.now + this.tickPeriod(peer) * this.opts.rng.next(), {
      kind: 'tick',
      peer: peer.id,
      gen: peer.gen,
    })
  }

  /** Loses everything not synced: the Raft state, the state machine, any Ready in flight. */
  crash(peer: SimPeer): void {
    if (!peer.node) return
    this.trace(`${peer.id} crashes`)
    peer.node = null
    peer.snaps.crash()
    peer.gen++
    peer.readWaiters.clear()
    peer.applyWaiters = []
    peer.writeWaiters.clear()
    peer.tickListeners.clear()
  }

  private afterStep(peer: SimPeer): void {
    const node = peer.node
    if (!node) return
    if (node.raft.role === 'leader') {
      this.safety.onLeader(peer.id, node)
      this.staleSuffix.noteLeader(node.raft)
      for (const check of this.afterLeaderStep) check(peer)
      if (this.lastLeaderTerm.get(peer.id) !== node.raft.term) {
        this.lastLeaderTerm.set(peer.id, node.raft.term)
        this.onNewLeader?.(peer)
      }
    }
    if (peer.readyInFlight || !node.hasReady()) return
    const rd = node.ready()
    this.handovers.onReady(peer.id, node.raft, rd.messages)
    // Checked when the entries are produced, against the log they extend.
    this.safety.onAppend(peer.id, node, rd.entries)
    if (rd.softState && this.opts.trace)
      this.trace(
        `${peer.id} is ${rd.softState.role} (term ${node.raft.term}, leader ${rd.softState.lead || '-'})`,
      )
    if (peer.slow + peer.applyDelay > 0) {
      peer.readyInFlight = true
      this.queue.push(this.now + peer.slow + peer.applyDelay, {
        kind: 'ready',
        peer: peer.id,
        gen: peer.gen,
        rd,
      })
      return
    }
    this.handleReady(peer, rd)
    if (peer.node) this.afterStep(peer)
  }

  /** The driver's loop body: persist, send, apply, advance. */
  private handleReady(peer: SimPeer, rd: Ready): void {
    const node = peer.node!
    const log = peer.log
    peer.snaps.write(rd.snapshotChunks)
    if (rd.snapshot) {
      if (rd.snapshot.size > this.opts.snapshotChunkBytes) this.stats.chunkedSnapshots++
      const data = peer.snaps.install(rd.snapshot)
      log.applySnapshot(rd.snapshot)
      if (peer.kind === 'data') peer.kv = this.restoreKv(peer, rd.snapshot.meta, data)
      else peer.kv.applied = rd.snapshot.meta.index
      this.trace(`${peer.id} installs snapshot at ${rd.snapshot.meta.index}`)
    }
    log.append(rd.entries)
    if (rd.hardState) log.setHardState(rd.hardState)
    if (rd.witnessCompact) {
      log.createSnapshot(rd.witnessCompact, 0)
      peer.snaps.take(rd.witnessCompact, new Uint8Array(0))
    }
    // A durable commit index is a claim: check it now, even if we crash before saying it.
    this.checkCommit(peer, node)
    if (this.crashAfterPersist?.(peer, rd)) {
      this.trace(`${peer.id} crashes after persisting, before sending`)
      this.crash(peer)
      return
    }
    for (const m of rd.messages) {
      const filled = peer.snaps.fill(m)
      if (filled) this.send(filled)
    }
    for (const e of rd.committedEntries) {
      if (e.type !== EntryType.Normal) {
        peer.kv.applied = Math.max(peer.kv.applied, e.index)
        continue
      }
      if (peer.kind === 'witness') {
        this.safety.report(`witness ${peer.id} was handed entry ${e.index} to apply`)
        continue
      }
      this.safety.onApply(peer.id, e.index, e.data)
      const res = peer.kv.apply(e.index, e.data)
      if (res) peer.writeWaiters.get(res.op)?.(res.index)
    }
    if (rd.committedEntries.length > 0) {
      const last = rd.committedEntries[rd.committedEntries.length - 1].index
      if (last > peer.kv.applied) peer.kv.applied = last
    }
    for (const rs of rd.readStates) peer.readWaiters.get(readKey(rs.context))?.(rs.index, rs.lease)
    node.advance()
    this.handovers.onAdvanced(peer.id, node.raft)
    this.checkCommit(peer, node)
    for (const check of this.afterReady) check(peer)
    if (peer.kind === 'data') this.maybeSnapshot(peer)
    this.runApplyWaiters(peer)
  }

  /** A snapshot that fails to restore was stitched or corrupted on the way: a violation. */
  private restoreKv(peer: SimPeer, meta: SnapshotMeta, data: Uint8Array = new Uint8Array(0)): KvStore {
    try {
      return KvStore.restore(data)
    } catch (err) {
      if (!(err instanceof SnapshotCorruptError)) throw err
      this.safety.report(`${peer.id} installed a corrupt snapshot at ${meta.index}: ${err.message}`)
      const kv = new KvStore()
      kv.applied = meta.index
      return kv
    }
  }

  private checkCommit(peer: SimPeer, node: RawNode): void {
    const commit = node.raft.log.committed
    if (commit > peer.checkedCommit) {
      this.safety.onCommit(peer.id, node, peer.checkedCommit + 1, commit)
      peer.checkedCommit = commit
    }
  }

  private maybeSnapshot(peer: SimPeer): void {
    const node = peer.node!
    // What the state machine holds, not Raft's view (a pending snapshot may have moved that).
    const applied = peer.kv.applied
    if (applied - peer.log.firstIndex() + 1 < this.opts.snapshotEvery || applied > peer.log.lastIndex())
      return
    // Raft's membership is the one at the state machine's index only when both agree.
    if (node.raft.log.applied !== applied) return
    const meta = { index: applied, term: peer.log.term(applied), conf: node.raft.conf }
    const data = peer.kv.serialize(peer.id)
    peer.snaps.take(meta, data)
    peer.log.createSnapshot(meta, data.length)
    this.trace(`${peer.id} snapshots at ${applied}`)
  }

  runApplyWaiters(peer: SimPeer): void {
    if (peer.applyWaiters.length === 0) return
    const applied = peer.node ? peer.kv.applied : 0
    const ready = peer.applyWaiters.filter((w) => w.index <= applied)
    peer.applyWaiters = peer.applyWaiters.filter((w) => w.index > applied)
    for (const w of ready) w.fn()
  }

  send(m: Message): void {
    const rng = this.opts.rng
    sendPaperTwin(
      m,
      this.net.paperHeartbeat,
      rng,
      (id) => this.peers.get(id)?.node?.raft,
      (twin) => this.send(twin),
    )
    if (this.blocked.has(`${m.from}>${m.to}`)) return
    if (this.delays.length > 16) this.delays = this.delays.filter((d) => d.until >= this.now)
    if (rng.chance(this.net.drop)) return
    const copies = rng.chance(this.net.duplicate) ? 2 : 1
    for (let i = 0; i < copies; i++) {
      const slow = (this.peers.get(m.from)?.slow ?? 0) + (this.peers.get(m.to)?.slow ?? 0)
      let delay = this.net.minDelay + rng.next() * (this.net.maxDelay - this.net.minDelay) + slow
      delay += extraDelay(this.delays, m, this.now, () => rng.next())
      this.queue.push(this.now + delay, {
        kind: 'deliver',
        msg: m,
        sentAt: this.now,
        toGen: this.genOf(m.to),
      })
    }
    if (this.net.replay && m.type === MessageType.App && rng.chance(this.net.replay)) {
      const at = this.now + 20 + rng.next() * 230
      this.queue.push(at, { kind: 'deliver', msg: m, sentAt: this.now, toGen: this.genOf(m.to) })
    }
  }

  /** Schedules `fn` on every tick of `peer` until it returns true. */
  onEachTick(peer: SimPeer, fn: () => boolean): void {
    const listener = () => {
      if (fn()) peer.tickListeners.delete(listener)
    }
    peer.tickListeners.add(listener)
  }

  leader(): SimPeer | undefined {
    let best: SimPeer | undefined
    for (const p of this.peers.values()) {
      if (p.node?.raft.role !== 'leader') continue
      if (!best || p.node.raft.term > best.node!.raft.term) best = p
    }
    return best
  }
}

function describe(m: Message): string {
  const name = Object.entries(MessageType).find(([, v]) => v === m.type)?.[0] ?? String(m.type)
  const parts = [`${name} t${m.term}`]
  if (m.index !== undefined) parts.push(`i${m.index}`)
  if (m.logTerm !== undefined) parts.push(`lt${m.logTerm}`)
  if (m.entries?.length)
    parts.push(`${m.entries.length} entries ${m.entries[0].index}..${m.entries.at(-1)!.index}`)
  if (m.commit !== undefined) parts.push(`c${m.commit}`)
  if (m.reject) parts.push('reject')
  if (m.snapshot) parts.push(`snap@${m.snapshot.meta.index} ${m.snapshot.offset}/${m.snapshot.total}`)
  return parts.join(' ')
}
