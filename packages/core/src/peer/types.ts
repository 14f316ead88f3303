import type { RaftFaults } from '../raft/config.js'
import type { PeerId } from '../raft/messages.js'
import type { Hit } from '../state/collection.js'
import type { CollectionOptions, Metadata } from '../state/commands.js'
import type { Filter } from '../state/filter.js'
import type { Limits } from '../state/limits.js'
import type { Storage } from '../storage/storage.js'
import type { Transport } from '../transport/transport.js'
import type { EngineChoice } from '../vector/create-index.js'
import type { DriverFaults, DriverObserver } from './driver.js'

export type PeerRole = 'data' | 'witness'
export type MemberKind = 'voter' | 'learner' | 'witness'

/** Monotonic milliseconds (performance.now() by default; the simulator's virtual clock in tests). */
export interface Clock {
  now(): number
}

/** Timers the driver schedules ticks and deadlines with (globalThis's by default). */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
}

export interface RaftTuning {
  /** Milliseconds per Raft tick (default 100). */
  tickMs?: number
  /** Ticks without a leader before an election (default 10). */
  electionTicks?: number
  /** Ticks between heartbeats (default 1). */
  heartbeatTicks?: number
  /**
   * This peer's election priority (default 1); higher is preferred as leader. Peers learn each
   * other's priority from `priorityOf` when given (it must agree on every peer), else only their
   * own is known and others count as 1.
   */
  priority?: number
  priorityOf?: (id: PeerId) => number
  /** May this peer hold a lease (default true; browser tabs pass false: their timers stall). */
  leaseEligible?: boolean
  /** Bound on clock-rate drift between peers, used for leases and staleness proofs (default 0.05). */
  maxClockDrift?: number
  /** Largest append message in bytes (default 1 MiB). */
  maxSizePerMsg?: number
  /** Append messages in flight per follower (default 256). */
  maxInflightMsgs?: number
  /** Snapshot chunk size in bytes (default 256 KiB). */
  snapshotChunkBytes?: number
}

export interface SnapshotTriggers {
  /** Take a snapshot once this many entries were applied since the last one (default 10,000). */
  entries?: number
  /** ... or once this many bytes of log were applied since the last one (default 64 MiB). */
  bytes?: number
}

export interface PeerLimits {
  /** Writes waiting for their result on this peer; past it, ERR_BACKPRESSURE (default 1024). */
  maxPendingWrites?: number
  /** Committed but not yet applied entries; past it, ERR_BACKPRESSURE (default 4096). */
  maxApplyLag?: number
  /** Default deadline of a write, retries included (default 10 s). */
  writeTimeoutMs?: number
  /** Default deadline of a read (default 5 s). */
  readTimeoutMs?: number
  /** Limits of the state machine (metadata size, ids...). */
  state?: Partial<Limits>
}

export interface Bootstrap {
  /** Founding data voters (this peer included if it is one). */
  voters: PeerId[]
  witnesses?: PeerId[]
  learners?: PeerId[]
}

export interface PeerOptions {
  /** This peer's id: over libp2p, its PeerId string; equal to `transport.localId`. */
  id: PeerId
  storage: Storage
  transport: Transport
  /** `data` (default) holds the collections; `witness` only votes and keeps the log. */
  role?: PeerRole
  /**
   * How a new group starts: every founding member passes the same `bootstrap`. Ignored when
   * storage already holds state. Without it (and with empty storage) the peer waits to be added.
   */
  bootstrap?: Bootstrap
  /** The vector engine: native usearch in Node, WebAssembly elsewhere (default `auto`). */
  engine?: EngineChoice
  raft?: RaftTuning
  snapshot?: SnapshotTriggers
  limits?: PeerLimits
  clock?: Clock
  timers?: Timers
  /** Uniform in [0, 1): election jitter and ids (default Math.random). */
  random?: () => number
  /** For the simulator and tests only: broken rules to prove checkers, and safety hooks. */
  testing?: PeerTesting
}

export interface PeerTesting {
  faults?: RaftFaults & DriverFaults
  observer?: DriverObserver
}

/**
 * Read consistency (DESIGN §3). `linearizable` (default): a ReadIndex round through the leader.
 * `lease`: the leader answers under its lease (a follower asks the leader). `{ maxStalenessMs }`:
 * this replica answers if it can prove it missed no write that committed more than that long ago.
 * `local`: whatever this replica has applied, with the bound it can prove.
 */
export type Consistency = 'linearizable' | 'lease' | 'local' | { maxStalenessMs: number }

export interface ReadOptions {
  consistency?: Consistency
  /** Wait until this replica has applied at least this index (read-your-writes across peers). */
  minIndex?: number
  timeoutMs?: number
}

/** How a read was served. */
export interface ReadInfo {
  /** The applied index the answer reflects. */
  index: number
  /** The peer that answered. */
  peer: PeerId
  consistency: 'linearizable' | 'lease' | 'bounded' | 'local'
  /**
   * How stale the answer may be, in ms: 0 for linearizable and lease reads; for bounded and
   * local reads the bound this peer proved (null: no proof at all, any staleness possible).
   */
  stalenessMs: number | null
}

/** A client session: a write retried with the same (client, seq) applies at most once. */
export interface SessionId {
  client: string
  seq: number
}

export interface WriteOptions {
  timeoutMs?: number
  /** Default: a session of this peer's own, so the driver's internal retries apply once. */
  session?: SessionId
}

/** A write applied on this peer: the log index it committed at and the state machine's answer. */
export type WriteResult<V> = { index: number } & V

export interface Point {
  id: string
  vector: ArrayLike<number>
  metadata?: Metadata
}

export interface StoredPoint {
  id: string
  vector: Float32Array
  metadata: Metadata | null
}

export interface PeerSearchOptions extends ReadOptions {
  k: number
  filter?: Filter
  /** Search breadth; bounded by the state machine. */
  ef?: number
}

export interface CollectionInfo {
  name: string
  options: Required<CollectionOptions>
  count: number
}

export interface CollectionHandle {
  readonly name: string
  upsert(
    id: string,
    vector: ArrayLike<number>,
    metadata?: Metadata,
    options?: WriteOptions,
  ): Promise<WriteResult<{ upserted: number }>>
  upsert(points: Point[], options?: WriteOptions): Promise<WriteResult<{ upserted: number }>>
  update(id: string, metadata: Metadata, options?: WriteOptions): Promise<WriteResult<{ updated: boolean }>>
  delete(ids: string | string[], options?: WriteOptions): Promise<WriteResult<{ deleted: number }>>
  get(id: string, options?: ReadOptions): Promise<ReadInfo & { point: StoredPoint | null }>
  search(vector: ArrayLike<number>, options: PeerSearchOptions): Promise<ReadInfo & { hits: Hit[] }>
  count(options?: ReadOptions): Promise<ReadInfo & { count: number }>
}

export interface MemberStatus {
  id: PeerId
  kind: MemberKind
  /** Leader only: the highest index known to be on that member. */
  match?: number
  /** Leader only: entries the member is behind the leader's last index. */
  lagEntries?: number
  /** Leader only: age of the oldest entry the member lacks (0 when caught up). */
  lagMs?: number
  /** Leader only: replicating, probing or receiving a snapshot. */
  state?: string
}

export interface PeerStatus {
  id: PeerId
  role: PeerRole
  /** Raft role: leader, follower, candidate, precandidate. */
  raftRole: string
  state: 'running' | 'closed' | 'failed'
  term: number
  leader: PeerId | null
  commit: number
  applied: number
  firstIndex: number
  lastIndex: number
  snapshotIndex: number
  members: MemberStatus[]
  /** True while the group is in a joint configuration. */
  joint: boolean
  leaseValid: boolean
  /** The staleness bound this peer could prove right now for a local read (null: none). */
  stalenessBoundMs: number | null
  /** Why the peer failed (state `failed`). */
  error?: string
}

export interface Histogram {
  /** Upper bounds in seconds, ascending; the last bucket is +Inf and implicit. */
  buckets: number[]
  /** Cumulative counts, one per bucket, then the +Inf count (= count). */
  counts: number[]
  sum: number
  count: number
}

/** DESIGN §9, as plain data: apps/peer exports it through prom-client, the demo shows it. */
export interface PeerMetrics {
  term: number
  role: string
  commitIndex: number
  appliedIndex: number
  /** Leader only: per follower, entries and seconds behind. */
  replicationLag: Record<PeerId, { entries: number; seconds: number }>
  snapshotBytes: number
  /** Writes by result code ('ok' or an error code). */
  proposals: Record<string, number>
  /** Reads by consistency and result: e.g. `bounded:ok`, `linearizable:ERR_TIMEOUT`. */
  reads: Record<string, number>
  electionsStarted: number
  electionsWon: number
  snapshotsTaken: number
  snapshotsSent: number
  snapshotsInstalled: number
  /** Messages and bytes by message type name, as the driver saw them (bytes from the transport when it counts). */
  messagesSent: Record<string, number>
  messagesReceived: Record<string, number>
  messagesDropped: Record<string, number>
  fsyncSeconds: Histogram
  applySeconds: Histogram
}

export type PeerEvents = {
  /** The known leader or term changed (leader null: none known). */
  leader: { leader: PeerId | null; term: number }
  /** This peer's Raft role changed. */
  role: { role: string; term: number }
  /** A membership change was applied. */
  membership: { members: MemberStatus[]; joint: boolean }
  /** A snapshot was taken, sent or installed. */
  snapshot: { kind: 'taken' | 'sent' | 'installed'; index: number; bytes: number; peer?: PeerId }
  /** The peer stopped on a local failure (state `failed`). */
  failed: { error: Error }
  closed: Record<string, never>
}

export interface Peer {
  readonly id: PeerId
  readonly role: PeerRole
  createCollection(
    name: string,
    options: CollectionOptions,
    write?: WriteOptions,
  ): Promise<WriteResult<{ created: boolean }>>
  dropCollection(name: string, write?: WriteOptions): Promise<WriteResult<{ dropped: boolean }>>
  /** A handle; nothing is checked until it is used. */
  collection(name: string): CollectionHandle
  listCollections(options?: ReadOptions): Promise<ReadInfo & { collections: CollectionInfo[] }>
  /** Leader only (ERR_NOT_LEADER names the leader). A data voter joins as a learner, catches up, then is promoted. */
  addMember(id: PeerId, options?: { as?: MemberKind; timeoutMs?: number }): Promise<{ index: number }>
  removeMember(id: PeerId, options?: { timeoutMs?: number }): Promise<{ index: number }>
  /**
   * Leader only. Adds and removes several members in one joint configuration: new data voters
   * join as learners and catch up first. Resolves once the joint configuration is left.
   */
  changeMembers(
    change: { add?: { id: PeerId; as?: MemberKind }[]; remove?: PeerId[] },
    options?: { timeoutMs?: number },
  ): Promise<{ index: number }>
  /** Leader only. Resolves once `to` (default: the most caught-up data voter) leads. */
  transferLeadership(to?: PeerId, options?: { timeoutMs?: number }): Promise<void>
  /** True for the current members (and, while this peer waits to be added, for anyone). */
  isMember(id: PeerId): boolean
  status(): PeerStatus
  metrics(): PeerMetrics
  on<E extends keyof PeerEvents>(event: E, handler: (payload: PeerEvents[E]) => void): () => void
  /**
   * Stops the peer: pending operations fail with ERR_CLOSED, storage is closed consistent. With
   * `transfer` (default true) a leader first hands leadership to another voter.
   */
  close(options?: { transfer?: boolean; timeoutMs?: number }): Promise<void>
}
