// Types and markers shared by the Raft modules.

import type { Message } from './messages.js'

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

export const CAMPAIGN_TRANSFER = Uint8Array.of(0x54)
export const isTransfer = (m: Message) => m.context?.length === 1 && m.context[0] === 0x54
export const PROBE_TAG = 0xfe
