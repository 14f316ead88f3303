import type { CollectionOptions } from '../state/commands.js'
import { createStateMachine } from '../state/state-machine.js'
import { systemClock, systemTimers } from './clock.js'
import { collectionHandle, runWrite } from './collection-handle.js'
import { PeerDriver } from './driver.js'
import { PeerError } from './errors.js'
import { peerInternals } from './internals.js'
import {
  addMember,
  bestTransferee,
  changeMembers,
  kindOf,
  type MembersChange,
  removeMember,
  transferLeadership,
} from './membership.js'
import { Proposals } from './proposals.js'
import { Reads } from './reads.js'
import { restoreState } from './snapshots.js'
import { recover } from './startup.js'
import { peerMetrics, peerStatus } from './status.js'
import type { CollectionHandle, Peer, PeerOptions, WriteOptions } from './types.js'

/**
 * Opens a peer: loads storage, restores the newest snapshot, replays the committed log after it
 * and runs the Raft loop. The returned Peer is the whole user API (packages/core/README.md).
 */
export async function openPeer(options: PeerOptions): Promise<Peer> {
  const o = resolveOptions(options)
  const recovered = await recover(o.storage, o.bootstrap)
  const sm = o.role === 'data' ? await createStateMachine({ ...o.engine, limits: o.limits.state }) : null
  if (sm) await restoreState(sm, o.storage, recovered.snapshotIndex)
  const raft = o.raft
  const d = new PeerDriver(
    {
      id: o.id,
      role: o.role,
      tickMs: raft.tickMs,
      electionTicks: raft.electionTicks,
      maxClockDrift: raft.maxClockDrift,
      snapshotEntries: o.snapshot.entries,
      snapshotBytes: o.snapshot.bytes,
      snapshotChunkBytes: raft.snapshotChunkBytes,
      clock: o.clock,
      timers: o.timers,
      faults: o.testing.faults ?? {},
      observer: o.testing.observer ?? {},
      raft: {
        faults: o.testing.faults ?? {},
        random: o.random,
        electionTick: raft.electionTicks,
        heartbeatTick: raft.heartbeatTicks,
        priority: raft.priorityOf ?? ((id) => (id === o.id ? raft.priority : 1)),
        leaseEligible: raft.leaseEligible,
        maxClockDrift: raft.maxClockDrift,
        maxSizePerMsg: raft.maxSizePerMsg,
        maxInflightMsgs: raft.maxInflightMsgs,
        snapshotChunkBytes: raft.snapshotChunkBytes,
        witness: o.role === 'witness',
      },
    },
    {
      storage: o.storage,
      transport: o.transport,
      log: recovered.log,
      sm,
      snapshotIndex: recovered.snapshotIndex,
    },
  )
  const retryMs = Math.max(raft.tickMs, (raft.electionTicks * raft.tickMs) / 2)
  const proposals = new Proposals(d, { ...o.limits, retryMs }, o.random)
  const reads = new Reads(d, o.limits.readTimeoutMs, retryMs, o.random)
  d.start()
  return new PeerImpl(d, proposals, reads, o.limits.writeTimeoutMs, raft.electionTicks * raft.tickMs * 3)
}

class PeerImpl implements Peer {
  readonly id: string
  readonly role: 'data' | 'witness'
  private closing: Promise<void> | null = null
  private membershipQueue: Promise<void> = Promise.resolve()

  constructor(
    private readonly d: PeerDriver,
    private readonly proposals: Proposals,
    private readonly reads: Reads,
    private readonly writeTimeoutMs: number,
    private readonly adminTimeoutMs: number,
  ) {
    this.id = d.settings.id
    this.role = d.settings.role
    peerInternals.set(this, d)
    d.events.on('failed', () => {
      const error = d.stoppedError()
      proposals.failAll(error)
      reads.failAll(error)
    })
  }

  createCollection(name: string, options: CollectionOptions, write?: WriteOptions) {
    return runWrite<{ created: boolean }>(this.proposals, { op: 'create', name, options }, write)
  }

  dropCollection(name: string, write?: WriteOptions) {
    return runWrite<{ dropped: boolean }>(this.proposals, { op: 'drop', name }, write)
  }

  collection(name: string): CollectionHandle {
    return collectionHandle(name, this.d, this.proposals, this.reads)
  }

  listCollections(options = {}) {
    return this.reads.read(options, () => ({
      collections: [...this.d.sm!.collections.values()].map((c) => ({
        name: c.name,
        options: { ...c.options },
        count: c.size,
      })),
    }))
  }

  addMember(id: string, options: { as?: 'voter' | 'learner' | 'witness'; timeoutMs?: number } = {}) {
    return this.oneAtATime(() =>
      addMember(this.d, id, options.as ?? 'voter', options.timeoutMs ?? this.writeTimeoutMs * 3),
    )
  }

  removeMember(id: string, options: { timeoutMs?: number } = {}) {
    return this.oneAtATime(() => removeMember(this.d, id, options.timeoutMs ?? this.writeTimeoutMs))
  }

  changeMembers(change: MembersChange, options: { timeoutMs?: number } = {}) {
    return this.oneAtATime(() => changeMembers(this.d, change, options.timeoutMs ?? this.writeTimeoutMs * 3))
  }

  /** Raft takes one membership change at a time: later calls wait for earlier ones. */
  private oneAtATime<T>(change: () => Promise<T>): Promise<T> {
    const run = this.membershipQueue.then(change, change)
    this.membershipQueue = run.then(
      () => {},
      () => {},
    )
    return run
  }

  transferLeadership(to?: string, options: { timeoutMs?: number } = {}) {
    return transferLeadership(this.d, to, options.timeoutMs ?? this.adminTimeoutMs)
  }

  isMember(id: string): boolean {
    const conf = this.d.conf
    // A peer waiting to be added knows no members yet: the leader that adds it must get through.
    if (conf.voters.length === 0) return true
    return kindOf(conf, id) !== null
  }

  status() {
    return peerStatus(this.d, this.reads)
  }

  metrics() {
    return peerMetrics(this.d)
  }

  on: Peer['on'] = (event, handler) => this.d.events.on(event, handler)

  close(options: { transfer?: boolean; timeoutMs?: number } = {}): Promise<void> {
    this.closing ??= this.shutDown(options.transfer ?? true, options.timeoutMs ?? this.adminTimeoutMs)
    return this.closing
  }

  private async shutDown(transfer: boolean, timeoutMs: number): Promise<void> {
    const d = this.d
    if (d.state !== 'running') return
    if (transfer && d.node.raft.role === 'leader' && bestTransferee(d)) {
      // Hand over first, so the group does not wait an election timeout for a new leader.
      await transferLeadership(d, undefined, timeoutMs).catch(() => {})
    }
    const closed = new PeerError('ERR_CLOSED', `peer ${this.id} is closed`)
    await d.close()
    this.proposals.failAll(closed)
    this.reads.failAll(closed)
  }
}

function resolveOptions(options: PeerOptions) {
  if (!options || typeof options !== 'object') throw new PeerError('ERR_INVALID', 'openPeer needs options')
  const { id, storage, transport } = options
  if (typeof id !== 'string' || id === '')
    throw new PeerError('ERR_INVALID', 'id must be a non-empty string', { field: 'id' })
  if (!storage) throw new PeerError('ERR_INVALID', 'storage is required', { field: 'storage' })
  if (!transport) throw new PeerError('ERR_INVALID', 'transport is required', { field: 'transport' })
  if (transport.localId !== id)
    throw new PeerError('ERR_INVALID', `transport.localId ${transport.localId} differs from id ${id}`, {
      field: 'transport',
    })
  const role = options.role ?? 'data'
  if (role !== 'data' && role !== 'witness')
    throw new PeerError('ERR_INVALID', "role must be 'data' or 'witness'", { field: 'role' })
  const r = options.raft ?? {}
  const raft = {
    tickMs: positive(r.tickMs ?? 100, 'raft.tickMs'),
    electionTicks: positive(r.electionTicks ?? 10, 'raft.electionTicks'),
    heartbeatTicks: positive(r.heartbeatTicks ?? 1, 'raft.heartbeatTicks'),
    priority: r.priority ?? 1,
    priorityOf: r.priorityOf,
    leaseEligible: r.leaseEligible ?? true,
    maxClockDrift: r.maxClockDrift ?? 0.05,
    maxSizePerMsg: positive(r.maxSizePerMsg ?? 1024 * 1024, 'raft.maxSizePerMsg'),
    maxInflightMsgs: positive(r.maxInflightMsgs ?? 256, 'raft.maxInflightMsgs'),
    snapshotChunkBytes: positive(r.snapshotChunkBytes ?? 256 * 1024, 'raft.snapshotChunkBytes'),
  }
  if (!(raft.maxClockDrift >= 0 && raft.maxClockDrift < 1))
    throw new PeerError('ERR_INVALID', 'must be in [0, 1)', { field: 'raft.maxClockDrift' })
  const l = options.limits ?? {}
  const limits = {
    maxPendingWrites: positive(l.maxPendingWrites ?? 1024, 'limits.maxPendingWrites'),
    maxApplyLag: positive(l.maxApplyLag ?? 4096, 'limits.maxApplyLag'),
    writeTimeoutMs: positive(l.writeTimeoutMs ?? 10_000, 'limits.writeTimeoutMs'),
    readTimeoutMs: positive(l.readTimeoutMs ?? 5_000, 'limits.readTimeoutMs'),
    state: l.state ?? {},
  }
  const s = options.snapshot ?? {}
  const snapshot = {
    entries: positive(s.entries ?? 10_000, 'snapshot.entries'),
    bytes: positive(s.bytes ?? 64 * 1024 * 1024, 'snapshot.bytes'),
  }
  return {
    id,
    storage,
    transport,
    role,
    bootstrap: options.bootstrap,
    engine: options.engine ?? {},
    raft,
    limits,
    snapshot,
    clock: options.clock ?? systemClock,
    timers: options.timers ?? systemTimers,
    random: options.random ?? Math.random,
    testing: options.testing ?? {},
  }
}

function positive(value: number, field: string): number {
  if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value))
    throw new PeerError('ERR_INVALID', `must be a positive number, not ${value}`, { field })
  return value
}
