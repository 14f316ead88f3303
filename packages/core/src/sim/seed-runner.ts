import type { DriverFaults } from '../peer/driver.js'
import type { RaftFaults } from '../raft/config.js'
import { runPeerSeed } from './run-peer-seed.js'
import { runSeed } from './run-seed.js'
import type { SimStats } from './stats.js'

/** What one seed of any driver reports; the CLI's loop needs only this much. */
export interface SeedReport {
  seed: number
  shape: string
  violations: string[]
  operations: number
  reads: Record<string, number>
  steps: number
  /** How often each hard-to-reach situation occurred (summed in the run's summary). */
  stats?: SimStats
  trace: string[]
}

export interface RunOptions {
  trace: boolean
  faults: RaftFaults & DriverFaults
  profile?: string
  shape?: number
}

export type RunSeed = (seed: number, options: RunOptions) => Promise<SeedReport>

/** The simulator's drivers: real openPeer instances (the default), or the Raft-only loop. */
export const DRIVERS: Record<string, RunSeed> = {
  peer: runPeerSeed,
  raft: async (seed, options) => runSeed(seed, options),
}
