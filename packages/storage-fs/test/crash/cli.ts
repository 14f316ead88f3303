import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import type { HardState } from '@flotilla/core'
import { build } from 'esbuild'
import type { Batch, LogModel } from './model.js'
import { verify } from './verify.js'

/**
 * `npm run crash -- fs --iterations 200 [--seed N] [--keep]`: a child appends batches to a
 * storage-fs directory and is killed with SIGKILL at a random moment, over and over on the same
 * directory; after each kill the directory is reopened and checked (see verify.ts). Ends with
 * `crash: N kills, M lost acknowledged records`; exits non-zero on any loss or inconsistency.
 *
 * `npm run crash -- fs-model [--seeds 1,2,3] [--steps 120]`: the crash-model sweep (see
 * model-sweep.ts): a crash before every file operation of a workload, each recovered as kill -9
 * and as power loss left it. Ends with `crash-model: N crash points, M violations`.
 */
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    iterations: { type: 'string', default: '200' },
    seed: { type: 'string' },
    keep: { type: 'boolean', default: false },
    seeds: { type: 'string', default: '1,2,3' },
    steps: { type: 'string', default: '120' },
  },
})
if (positionals[0] === 'fs-model') {
  const { modelSweepCli } = await import('./model-sweep.js')
  process.exit(await modelSweepCli(values.seeds.split(',').map(Number), Number(values.steps)))
}
if (positionals[0] !== 'fs') {
  console.error(
    'usage: npm run crash -- fs [--iterations N] [--seed N] [--keep] | fs-model [--seeds 1,2,3] [--steps N]',
  )
  process.exit(2)
}
const iterations = Number(values.iterations)
const seed = Number(values.seed ?? Date.now() % 1_000_000)
let rng = seed >>> 0 || 1
const rand = (n: number) => {
  rng = (rng * 1103515245 + 12345) >>> 0
  return (rng >>> 8) % n
}

// Bundle the child once: starting it through tsx on every iteration would dominate the run.
const here = dirname(fileURLToPath(import.meta.url))
const outDir = join(here, '../../../../node_modules/.cache/flotilla-crash')
mkdirSync(outDir, { recursive: true })
const childJs = join(outDir, 'child.mjs')
await build({
  entryPoints: [join(here, 'child.ts')],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // Workspace packages from their TypeScript sources (see the root README, "Packages").
  conditions: ['@flotilla/source'],
  outfile: childJs,
  external: ['@node-rs/crc32', 'cbor-x', 'fs-native-extensions'],
  logLevel: 'warning',
})

const dir = mkdtempSync(join(tmpdir(), 'flotilla-crash-'))
console.log(`crash: fs, ${iterations} iterations, seed ${seed}, dir ${dir}`)

interface Round {
  batches: Batch[]
  acked: number
  exit: { code: number | null; signal: string | null }
  errors: string[]
}

function runChild(killAfterMs: number, childSeed: number): Promise<Round> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [childJs, dir, String(childSeed)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const round: Round = { batches: [], acked: 0, exit: { code: null, signal: null }, errors: [] }
    let buffered = ''
    child.stdout.on('data', (d: Buffer) => {
      buffered += d.toString()
      const lines = buffered.split('\n')
      buffered = lines.pop()!
      for (const line of lines) {
        const [kind, ...rest] = line.split(' ')
        const n = rest.map(Number)
        if (kind === 'ready') setTimeout(() => child.kill('SIGKILL'), killAfterMs)
        else if (kind === 'start')
          round.batches.push({
            seq: n[0],
            first: n[1],
            count: n[2],
            term: n[3],
            hardState: { term: n[3], vote: 'c', commit: n[4] },
          })
        else if (kind === 'ack') {
          if (n[0] !== round.acked) round.errors.push(`ack ${n[0]} out of order (expected ${round.acked})`)
          round.acked = n[0] + 1
        } else if (kind === 'error') round.errors.push(`child: ${rest.join(' ')}`)
      }
    })
    child.stderr.on('data', (d: Buffer) => round.errors.push(`child stderr: ${d.toString().trim()}`))
    child.on('exit', (code, signal) => {
      round.exit = { code, signal }
      resolve(round)
    })
  })
}

let kills = 0
let lost = 0
let problems = 0
let acknowledged = 0
let base: LogModel = { first: 1, terms: [] }
let hardState: HardState = { term: 0, vote: '', commit: 0 }
for (let i = 0; i < iterations; i++) {
  const t0 = performance.now()
  const round = await runChild(rand(250), rand(2 ** 30))
  const t1 = performance.now()
  if (round.exit.signal !== 'SIGKILL') {
    problems++
    console.log(
      `iteration ${i}: child exited by itself (code ${round.exit.code}): ${round.errors.join('; ')}`,
    )
    break
  }
  kills++
  acknowledged += round.acked
  for (const e of round.errors) console.log(`iteration ${i}: ${e}`)
  problems += round.errors.length
  const v = await verify(dir, base, hardState, round.batches, round.acked).catch((err: unknown) => {
    console.log(`iteration ${i}: reopen failed: ${String(err)}`)
    return null
  })
  if (!v) {
    problems++
    break
  }
  if (process.env.CRASH_TIMING)
    console.log(
      `child ${(t1 - t0).toFixed(0)}ms verify ${(performance.now() - t1).toFixed(0)}ms acked ${round.acked}`,
    )
  lost += v.lost
  problems += v.problems.length
  for (const p of v.problems) console.log(`iteration ${i}: ${p}`)
  if (v.lost > 0) console.log(`iteration ${i}: ${v.lost} acknowledged records lost`)
  base = v.log
  hardState = v.hardState
  if ((i + 1) % 50 === 0)
    console.log(
      `  ${i + 1} kills, ${acknowledged} batches acknowledged, log [${base.first}, ${base.first + base.terms.length - 1}]`,
    )
}
if (!values.keep) rmSync(dir, { recursive: true, force: true })
if (problems > 0) console.log(`crash: ${problems} inconsistencies (see above)`)
console.log(`crash: ${kills} kills, ${lost} lost acknowledged records`)
process.exit(lost === 0 && problems === 0 && kills === iterations ? 0 : 1)
