/** Peer ids are opaque strings; over libp2p they are PeerId strings. */
export type PeerId = string

/** No peer: no leader known, no vote cast. */
export const NONE: PeerId = ''

export const EntryType = {
  Normal: 0,
  ConfChange: 1,
} as const
export type EntryType = (typeof EntryType)[keyof typeof EntryType]

export interface Entry {
  term: number
  index: number
  type: EntryType
  /** Empty for the no-op entry a new leader appends. */
  data: Uint8Array
}

export interface HardState {
  term: number
  vote: PeerId
  commit: number
}

/** Membership. A witness is also listed in `voters` (and `outgoing` while it is there). */
export interface ConfState {
  voters: PeerId[]
  /** The old voters while a joint configuration is in force; empty otherwise. */
  outgoing: PeerId[]
  learners: PeerId[]
  /** Voters that become learners when the joint configuration is left. */
  learnersNext: PeerId[]
  witnesses: PeerId[]
  /** Leave the joint configuration automatically once it is applied. */
  autoLeave: boolean
}

export interface SnapshotMeta {
  index: number
  term: number
  conf: ConfState
}

/** A snapshot as Raft knows it: its metadata and size. Its bytes stay in storage. */
export interface SnapshotInfo {
  meta: SnapshotMeta
  size: number
}

export const MessageType = {
  /** Local: start an election. */
  Hup: 0,
  /** Local: leader sends heartbeats. */
  Beat: 1,
  /** A proposal; a follower forwards it to the leader. */
  Prop: 2,
  App: 3,
  AppResp: 4,
  Vote: 5,
  VoteResp: 6,
  PreVote: 7,
  PreVoteResp: 8,
  /** One chunk of an InstallSnapshot. */
  Snap: 9,
  SnapResp: 10,
  Heartbeat: 11,
  HeartbeatResp: 12,
  TimeoutNow: 13,
  ReadIndex: 14,
  ReadIndexResp: 15,
  TransferLeader: 16,
  /** Local: the driver could not reach a peer. */
  Unreachable: 17,
} as const
export type MessageType = (typeof MessageType)[keyof typeof MessageType]

export interface SnapshotChunk {
  meta: SnapshotMeta
  /** Byte offset of `data` within the whole snapshot. */
  offset: number
  total: number
  data: Uint8Array
  /**
   * Only on a chunk Raft hands out for sending (a chunk request; `data` is empty): the driver
   * reads this many bytes at `offset` from the stored snapshot at `meta.index` into `data` and
   * drops this field. Never on the wire.
   */
  length?: number
}

/**
 * One Raft message. Field meaning depends on `type`, as in the Raft paper:
 * App: `index`/`logTerm` locate the entry before `entries`; AppResp: `index` is the
 * follower's last matching index, or on `reject` the rejected index with `rejectHint`/`logTerm`
 * for fast back-off; Vote/PreVote: `index`/`logTerm` describe the candidate's last entry.
 */
export interface Message {
  type: MessageType
  from: PeerId
  to: PeerId
  term: number
  logTerm?: number
  index?: number
  entries?: Entry[]
  commit?: number
  reject?: boolean
  rejectHint?: number
  snapshot?: SnapshotChunk
  /** ReadIndex request id, heartbeat read context, or the campaign-transfer marker. */
  context?: Uint8Array
  /** Leader to witness: every data voter holds entries up to here; the witness may drop them. */
  dataMatch?: number
}
