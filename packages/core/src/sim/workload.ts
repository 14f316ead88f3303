import { allMembers } from '../raft/confchange.js'
import { RaftError } from '../raft/errors.js'
import { readKey } from '../raft/read-only.js'
import type { Cluster, SimPeer } from './cluster.js'
import { encodeKvWrite } from './kv.js'
import type { Operation } from './linearizability.js'
import { ReadClashes } from './read-clashes.js'
import type { Rng } from './rng.js'

/** A bounded-staleness read: checked against the acknowledged writes and the virtual clock. */
export interface StaleRead {
  key: string
  call: number
  maxStalenessMs: number
  /** Log index of the write whose value was read; 0 when the key was absent. */
  writeIndex: number
  peer: string
}

export interface AckedWrite {
  key: string
  index: number
  ret: number
}

export type ReadKind = 'readindex' | 'lease' | 'stale' | 'underLease'

const OP_TIMEOUT_MS = 1500
const KEYS = ['x', 'y', 'z']

/**
 * Clients issuing writes and reads of every consistency level against random peers, recording
 * a history for the linearizability checker and the staleness checker.
 */
export class Workload {
  readonly history: Operation[] = []
  readonly staleReads: StaleRead[] = []
  readonly ackedWrites: AckedWrite[] = []
  readonly readsByKind: Record<ReadKind, number> = { readindex: 0, lease: 0, stale: 0, underLease: 0 }
  private nextOpId = 1
  private cachedLeader: string | null = null
  private running = true
  /** Other peers' reads may carry the same context: the dangerous case is counted. */
  readonly clashes = new ReadClashes()

  constructor(
    private readonly cluster: Cluster,
    private readonly rng: Rng,
    private readonly clients: number,
    /** Every this many ms, each peer's read numbering jumps to the highest (0: never). */
    private readonly alignReadsMs = 0,
  ) {}

  start(): void {
    for (let c = 0; c < this.clients; c++)
      this.cluster.at(this.cluster.now + this.rng.next() * 20, () => this.next(c))
    if (this.alignReadsMs > 0) this.cluster.at(this.cluster.now + this.alignReadsMs, () => this.alignReads())
  }

  /**
   * Each peer's next read numbers on from the highest number any peer used: still increasing at
   * each peer (no reply to an earlier read matches a later one), but the next reads of different
   * peers carry the same contexts.
   */
  private alignReads(): void {
    if (!this.running) return
    const peers = [...this.cluster.peers.values()]
    const top = Math.max(...peers.map((p) => p.readSeq))
    for (const p of peers) p.readSeq = top
    this.cluster.at(this.cluster.now + this.alignReadsMs, () => this.alignReads())
  }

  stop(): void {
    this.running = false
  }

  private next(client: number): void {
    if (!this.running) return
    const done = () => this.cluster.at(this.cluster.now + this.rng.next() * 6, () => this.next(client))
    // Clients learn of a new leader lazily, so lease reads may reach a peer that just lost office.
    const cached = this.cachedLeader ? this.cluster.peers.get(this.cachedLeader) : undefined
    if (!cached?.node || this.rng.chance(0.2)) this.cachedLeader = this.cluster.leader()?.id ?? null
    const r = this.rng.next()
    if (r < 0.45) this.write(client, done)
    else if (r < 0.65) this.read('readindex', done)
    else if (r < 0.8) this.read('lease', done)
    else if (r < 0.97) this.staleRead(done)
    else this.witnessRead(done)
  }

  /** A data peer that is up and a member (voter or learner) in its own view. */
  private dataPeer(): SimPeer | undefined {
    const candidates = [...this.cluster.peers.values()].filter(
      (p) => p.kind === 'data' && p.node && allMembers(p.node.raft.conf).includes(p.id),
    )
    return candidates.length ? this.rng.pick(candidates) : undefined
  }

  private write(client: number, done: () => void): void {
    const peer = this.dataPeer()
    if (!peer?.node) {
      done()
      return
    }
    const key = this.rng.pick(KEYS)
    const value = `c${client}.${this.nextOpId}`
    const op: Operation = {
      id: this.nextOpId++,
      key,
      kind: 'put',
      value,
      call: this.cluster.now,
      ret: Infinity,
    }
    try {
      peer.node.propose(encodeKvWrite({ op: value, key, value }))
    } catch (err) {
      if (err instanceof RaftError) {
        done() // dropped before leaving: never took effect
        return
      }
      throw err
    }
    this.history.push(op)
    let finished = false
    const gen = peer.gen
    peer.writeWaiters.set(value, (index) => {
      if (finished || peer.gen !== gen) return
      finished = true
      op.ret = this.cluster.now
      this.clashes.writeAcknowledged(op.ret)
      this.ackedWrites.push({ key, index, ret: op.ret })
      peer.writeWaiters.delete(value)
      done()
    })
    this.cluster.at(this.cluster.now + OP_TIMEOUT_MS, () => {
      if (finished) return
      finished = true // outcome unknown: ret stays Infinity
      peer.writeWaiters.delete(value)
      done()
    })
  }

  /**
   * Each peer numbers its own reads (across restarts, so a late reply never matches a new read):
   * contexts of different peers clash, and the leader must answer each at its own index.
   */
  private context(peer: SimPeer): Uint8Array {
    const ctx = new Uint8Array(5)
    ctx[0] = 0x01
    new DataView(ctx.buffer).setUint32(1, ++peer.readSeq)
    return ctx
  }

  private read(kind: 'readindex' | 'lease', done: () => void): void {
    let peer: SimPeer | undefined
    if (kind === 'lease' && this.cachedLeader) peer = this.cluster.peers.get(this.cachedLeader)
    if (!peer?.node || peer.kind !== 'data') peer = this.dataPeer()
    if (!peer?.node) {
      done()
      return
    }
    const key = this.rng.pick(KEYS)
    const call = this.cluster.now
    const ctx = this.context(peer)
    const ctxKey = readKey(ctx)
    let finished = false
    const gen = peer.gen
    const node = peer.node
    const tracked = this.clashes.issue(ctxKey, peer.id, call)
    const finish = () => {
      finished = true
      this.clashes.close(ctxKey, tracked)
    }
    peer.readWaiters.set(ctxKey, (index, lease) => {
      peer.readWaiters.delete(ctxKey)
      tracked.answeredAt = this.cluster.now
      if (lease) this.readsByKind.underLease++
      peer.applyWaiters.push({
        index,
        fn: () => {
          if (finished || peer.gen !== gen) return
          finish()
          tracked.served = true
          // As of the index returned: a read answered at an index older than its own shows.
          const v = peer.kv.getAt(key, index)
          this.history.push({
            id: this.nextOpId++,
            key,
            kind: 'get',
            value: v?.value ?? null,
            call,
            ret: this.cluster.now,
          })
          this.readsByKind[kind]++
          done()
        },
      })
      this.cluster.runApplyWaiters(peer)
    })
    node.readIndex(ctx, { lease: kind === 'lease' })
    this.cluster.at(this.cluster.now + OP_TIMEOUT_MS, () => {
      if (finished) return
      finish() // a read that never answered has no effect: leave it out
      peer.readWaiters.delete(ctxKey)
      done()
    })
  }

  private staleRead(done: () => void): void {
    const peer = this.dataPeer()
    if (!peer?.node) {
      done()
      return
    }
    const key = this.rng.pick(KEYS)
    const maxStalenessMs = this.rng.pick([40, 80, 150, 300])
    const call = this.cluster.now
    const gen = peer.gen
    const { tickMs, maxDrift } = this.cluster.opts
    const attempt = (): boolean => {
      const node = peer.node
      if (!node || peer.gen !== gen) return true
      if (this.cluster.now - call > OP_TIMEOUT_MS) {
        done()
        return true
      }
      const proof = node.freshness()
      if (!proof || peer.kv.applied < proof.index) return false
      // Real time since the proof's tick, bounded by this peer's own tick count and the drift bound.
      const age = (node.raft.ticks + 1 - proof.tick) * tickMs * (1 + maxDrift)
      if (age > maxStalenessMs) return false
      const v = peer.kv.get(key)
      this.staleReads.push({ key, call, maxStalenessMs, writeIndex: v?.index ?? 0, peer: peer.id })
      this.readsByKind.stale++
      done()
      return true
    }
    if (!attempt()) this.cluster.onEachTick(peer, attempt)
  }

  /** A witness must refuse every read. */
  private witnessRead(done: () => void): void {
    const witness = [...this.cluster.peers.values()].find((p) => p.kind === 'witness' && p.node)
    if (witness?.node) {
      let served = true
      try {
        witness.node.readIndex(this.context(witness))
      } catch (err) {
        if (err instanceof RaftError && err.code === 'ERR_WITNESS') served = false
        else throw err
      }
      if (served || witness.node.freshness() !== null) {
        this.cluster.safety.report(`witness ${witness.id} accepted a read`)
      }
    }
    done()
  }

  /** Every bounded read must reflect each write acknowledged more than its bound before it began. */
  checkStaleReads(): string[] {
    const out: string[] = []
    for (const r of this.staleReads) {
      let required = 0
      for (const w of this.ackedWrites) {
        if (w.key === r.key && w.ret < r.call - r.maxStalenessMs && w.index > required) required = w.index
      }
      if (r.writeIndex < required) {
        out.push(
          `bounded-staleness: ${r.peer} read ${r.key} at t=${r.call} (bound ${r.maxStalenessMs} ms) ` +
            `from write ${r.writeIndex}, but write ${required} was acknowledged before t=${r.call - r.maxStalenessMs}`,
        )
        if (out.length >= 5) break
      }
    }
    return out
  }
}
