import type { RaftFaults } from '../raft/config.js'
import { runPeerCli } from './peer-cli.js'
import { runSeed } from './run-seed.js'

/**
 * npm run sim -- --seeds N            runs seeds 1..N
 * npm run sim -- --seed S --trace     replays one seed and prints its events
 * npm run sim -- --seeds N --fault doubleVote   runs with a deliberately broken rule
 */
declare const process: { argv: string[]; exit(code: number): never; stdout: { write(s: string): void } }

const args = process.argv.slice(2)
const flag = (name: string) => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? args[i + 1] : undefined
}
// --driver peer: real openPeer instances (peer-world.ts) instead of the Raft loop below.
if (flag('driver') === 'peer') await runPeerCli(args)
const trace = args.includes('--trace')
const faultName = flag('fault')
const faults: RaftFaults = faultName ? { [faultName]: true } : {}
const from = Number(flag('from') ?? 1)
const single = flag('seed')
const seeds = single ? [Number(single)] : range(from, from + Number(flag('seeds') ?? 100) - 1)

let violations = 0
let operations = 0
const reads: Record<string, number> = {}
const started = Date.now()
for (const seed of seeds) {
  const shape = flag('shape')
  const r = runSeed(seed, {
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
    console.log(`  replay: npm run sim -- --seed ${seed} --trace${faultName ? ` --fault ${faultName}` : ''}`)
  } else if (single) {
    console.log(`seed ${seed} (${r.shape}): ok, ${r.operations} operations, ${r.steps} steps`)
  }
  if (!single && seed % 100 === 0)
    process.stdout.write(
      `  ... ${seed - from + 1} seeds in ${((Date.now() - started) / 1000).toFixed(0)} s\n`,
    )
}
console.log(
  `reads: ${Object.entries(reads)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ')}; ${((Date.now() - started) / 1000).toFixed(1)} s`,
)
console.log(`sim: ${seeds.length} seeds, ${violations} violations, ${operations} operations checked`)
process.exit(violations === 0 ? 0 : 1)

function range(lo: number, hi: number): number[] {
  const out: number[] = []
  for (let i = lo; i <= hi; i++) out.push(i)
  return out
}
