import { runInChildren, serveSeeds } from './cli-jobs.js'
import { DRIVERS, type RunOptions, type SeedReport } from './seed-runner.js'

/**
 * npm run sim -- --seeds N                 runs seeds 1..N over real openPeer instances
 * npm run sim -- --seeds N --jobs 2        the same, in two child processes (output in seed order)
 * npm run sim -- --seed S --trace          replays one seed and prints its events
 * npm run sim -- --seeds N --fault doubleVote        runs with a deliberately broken rule
 * npm run sim -- --driver raft --seeds N   the Raft-only loop (run-seed.ts): a fast core check
 * npm run sim -- --seeds N --show NAME     also names each seed whose situation counter NAME is not 0
 */
declare const process: { argv: string[]; exit(code: number): never; stdout: { write(s: string): void } }

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
const show = flag('show')
const faultName = flag('fault')
const shape = flag('shape')
const options: RunOptions = {
  trace,
  faults: faultName ? { [faultName]: true } : {},
  profile: flag('profile'),
  shape: shape === undefined ? undefined : Number(shape),
}

if (args.includes('--worker')) serveSeeds(run, options)
else await main()

async function main(): Promise<never> {
  const single = flag('seed')
  const first = Number(single ?? flag('from') ?? 1)
  const count = single ? 1 : Number(flag('seeds') ?? 100)
  const seeds = Array.from({ length: count }, (_, i) => first + i)
  const jobs = Math.max(1, Number(flag('jobs') ?? 1))
  /** The flags that replay a seed as it ran here. */
  const replayFlags = [
    driver === 'peer' ? '' : ` --driver ${driver}`,
    faultName ? ` --fault ${faultName}` : '',
    options.shape === undefined ? '' : ` --shape ${options.shape}`,
    options.profile ? ` --profile ${options.profile}` : '',
  ].join('')

  let violations = 0
  let operations = 0
  let done = 0
  const reads: Record<string, number> = {}
  const situations: Record<string, number> = {}
  const started = Date.now()
  const report = (r: SeedReport) => {
    operations += r.operations
    for (const [k, n] of Object.entries(r.reads)) reads[k] = (reads[k] ?? 0) + n
    for (const [k, n] of Object.entries(r.stats ?? {})) situations[k] = (situations[k] ?? 0) + n
    if (trace) for (const line of r.trace) console.log(line)
    const shown = show ? r.stats?.[show as keyof typeof r.stats] : undefined
    if (shown) console.log(`seed ${r.seed} (${r.shape}): ${show} ${shown}`)
    if (r.violations.length > 0) {
      violations++
      console.log(`seed ${r.seed} (${r.shape}): ${r.violations.length} violation(s)`)
      for (const v of r.violations) console.log(`  ${v}`)
      console.log(`  replay: npm run sim -- --seed ${r.seed} --trace${replayFlags}`)
    } else if (single) {
      console.log(`seed ${r.seed} (${r.shape}): ok, ${r.operations} operations, ${r.steps} steps`)
    }
    done++
    if (!single && done % 100 === 0)
      process.stdout.write(`  ... ${done} seeds in ${((Date.now() - started) / 1000).toFixed(0)} s\n`)
  }

  if (jobs > 1 && seeds.length > 1) {
    // Children finish out of order; reports are held until every earlier seed has been printed.
    const held = new Map<number, SeedReport>()
    let next = first
    await runInChildren(args, seeds, jobs, (r) => {
      held.set(r.seed, r)
      for (let h = held.get(next); h; h = held.get(next)) {
        held.delete(next++)
        report(h)
      }
    })
  } else {
    for (const seed of seeds) report(await run(seed, options))
  }

  const kinds = Object.entries(reads)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, n]) => `${k} ${n}`)
  console.log(`reads: ${kinds.join(', ')}; ${((Date.now() - started) / 1000).toFixed(1)} s`)
  const reached = Object.entries(situations).map(([k, n]) => `${k} ${n}`)
  console.log(`situations: ${reached.join(', ')}`)
  console.log(
    `sim: ${count} seeds, ${violations} violations, ${operations} operations checked (driver ${driver})`,
  )
  return process.exit(violations === 0 && done === count ? 0 : 1)
}
