import type { PeerDriver } from './driver.js'

/**
 * The driver behind each open Peer, for the simulator's checkers (which read Raft's state) and
 * benchmarks. Not part of the public API: the package index does not export it.
 */
export const peerInternals = new WeakMap<object, PeerDriver>()
