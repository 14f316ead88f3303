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

const TRANSFER_TAG = 0x54

/** The context of a transfer campaign's votes: the tag, then the leader's transfer stamp. */
export function transferContext(stamp: number): Uint8Array {
  const ctx = new Uint8Array(9)
  ctx[0] = TRANSFER_TAG
  new DataView(ctx.buffer).setFloat64(1, stamp)
  return ctx
}

/** The transfer stamp of a transfer campaign's vote request, or undefined for any other. */
export function transferStamp(m: Message): number | undefined {
  const c = m.context
  if (c?.length !== 9 || c[0] !== TRANSFER_TAG) return undefined
  return new DataView(c.buffer, c.byteOffset, 9).getFloat64(1)
}
export const PROBE_TAG = 0xfe
/** A probe's context: the tag, the run's nonce and the sequence number, then the peer's id. */
export const PROBE_HEADER = 17
