import type { DriverFaults } from '../peer/driver.js'
import type { RaftFaults } from '../raft/config.js'
import { runPeerSeed } from './run-peer-seed.js'
import { runSeed } from './run-seed.js'

/**
 * npm run sim -- --seeds N                 runs seeds 1..N over real openPeer instances
 * npm run sim -- --seed S --trace          replays one seed and prints its events
 * npm run sim -- --seeds N --fault doubleVote        runs with a deliberately broken rule
 * npm run sim -- --driver raft --seeds N   the Raft-only loop (run-seed.ts): a fast core check
 */
declare const process: { argv: string[]; exit(code: number): never; stdout: { write(s: string): void } }

/** What one seed of any driver reports; the loop below only needs this much. */
export interface SeedReport {
  seed: number
  shape: string
  violations: string[]
  operations: number
  reads: Record<string, number>
  steps: number
  trace: string[]
}

export interface RunOptions {
  trace: boolean
  faults: RaftFaults & DriverFaults
  profile?: string
  shape?: number
}

export type RunSeed = (seed: number, options: RunOptions) => Promise<SeedReport>

const DRIVERS: Record<string, RunSeed> = {
  peer: runPeerSeed,
  raft: async (seed, options) => runSeed(seed, options),
}

const args = process.argv.slice(2)
const flag = (name: string) => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? args[i + 1] : undefined
}
const driver = flag('driver') ?? 'peer'
const run = DRIVERS[driver]
if (!run) {
  console.log(`unknown driver ${driver}: use ${Object.keys(DRIVERS).join(' or ')}`)
  process.exit(2)
}
const trace = args.includes('--trace')
const faultName = flag('fault')
const shape = flag('shape')
const options: RunOptions = {
  trace,
  faults: faultName ? { [faultName]: true } : {},
  profile: flag('profile'),
  shape: shape === undefined ? undefined : Number(shape),
}
const single = flag('seed')
const first = Number(single ?? flag('from') ?? 1)
const count = single ? 1 : Number(flag('seeds') ?? 100)

/** The flags that replay a seed as it ran here. */
const replayFlags = [
  driver === 'peer' ? '' : ` --driver ${driver}`,
  faultName ? ` --fault ${faultName}` : '',
  options.shape === undefined ? '' : ` --shape ${options.shape}`,
  options.profile ? ` --profile ${options.profile}` : '',
].join('')

let violations = 0
let operations = 0
const reads: Record<string, number> = {}
const started = Date.now()
for (let seed = first; seed < first + count; seed++) {
  const r = await run(seed, options)
  operations += r.operations
  for (const [k, n] of Object.entries(r.reads)) reads[k] = (reads[k] ?? 0) + n
  if (trace) for (const line of r.trace) console.log(line)
  if (r.violations.length > 0) {
    violations++
    console.log(`seed ${seed} (${r.shape}): ${r.violations.length} violation(s)`)
    for (const v of r.violations) console.log(`  ${v}`)
    console.log(`  replay: npm run sim -- --seed ${seed} --trace${replayFlags}`)
  } else if (single) {
    console.log(`seed ${seed} (${r.shape}): ok, ${r.operations} operations, ${r.steps} steps`)
  }
  const done = seed - first + 1
  if (!single && done % 100 === 0)
    process.stdout.write(`  ... ${done} seeds in ${((Date.now() - started) / 1000).toFixed(0)} s\n`)
}
const kinds = Object.entries(reads)
  .sort(([a], [b]) => a.localeCompare(b))
  .map(([k, n]) => `${k} ${n}`)
console.log(`reads: ${kinds.join(', ')}; ${((Date.now() - started) / 1000).toFixed(1)} s`)
console.log(
  `sim: ${count} seeds, ${violations} violations, ${operations} operations checked (driver ${driver})`,
)
process.exit(violations === 0 ? 0 : 1)
