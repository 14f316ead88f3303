import type { DriverFaults } from '../peer/driver.js'
import type { RaftFaults } from '../raft/config.js'
import { runPeerSeed } from './run-peer-seed.js'

declare const process: { exit(code: number): never; stdout: { write(s: string): void } }

/**
 * npm run sim -- --driver peer --seeds N     real openPeer instances, seeds 1..N
 * npm run sim -- --driver peer --seed S --trace
 * npm run sim -- --driver peer --seeds N --fault sendBeforePersist
 */
export async function runPeerCli(args: string[]): Promise<never> {
  const flag = (name: string) => {
    const i = args.indexOf(`--${name}`)
    return i >= 0 ? args[i + 1] : undefined
  }
  const trace = args.includes('--trace')
  const faultName = flag('fault')
  const faults: RaftFaults & DriverFaults = faultName ? { [faultName]: true } : {}
  const from = Number(flag('from') ?? 1)
  const single = flag('seed')
  const count = single ? 1 : Number(flag('seeds') ?? 100)
  const first = single ? Number(single) : from
  const shape = flag('shape')
  let violations = 0
  let operations = 0
  const reads: Record<string, number> = {}
  const started = Date.now()
  for (let seed = first; seed < first + count; seed++) {
    const r = await runPeerSeed(seed, {
      trace,
      faults,
      profile: flag('profile'),
      shape: shape === undefined ? undefined : Number(shape),
    })
    operations += r.operations
    for (const [k, n] of Object.entries(r.reads)) reads[k] = (reads[k] ?? 0) + n
    if (trace) for (const line of r.trace) console.log(line)
    if (r.violations.length > 0) {
      violations++
      console.log(`seed ${seed} (${r.shape}): ${r.violations.length} violation(s)`)
      for (const v of r.violations) console.log(`  ${v}`)
      console.log(
        `  replay: npm run sim -- --driver peer --seed ${seed} --trace${faultName ? ` --fault ${faultName}` : ''}`,
      )
    } else if (single) {
      console.log(`seed ${seed} (${r.shape}): ok, ${r.operations} operations, ${r.steps} steps`)
    }
    if (!single && (seed - first + 1) % 50 === 0)
      process.stdout.write(
        `  ... ${seed - first + 1} seeds in ${((Date.now() - started) / 1000).toFixed(0)} s\n`,
      )
  }
  const kinds = Object.entries(reads)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, n]) => `${k} ${n}`)
  console.log(`reads: ${kinds.join(', ')}; ${((Date.now() - started) / 1000).toFixed(1)} s`)
  console.log(`sim: ${count} seeds, ${violations} violations, ${operations} operations checked (driver peer)`)
  return process.exit(violations === 0 ? 0 : 1)
}
