import { execFileSync } from 'node:child_process'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { DENO } from '../scripts/runtimes/processes.js'
import { bundleWorker, startWorkerd } from '../scripts/runtimes/workerd.js'
import { runSearchWorkload, type WorkloadResult } from './_runtime-workload.js'

/**
 * `npm run bench -- runtimes [--quick]`: search q/s of one usearch index and one query set in
 * Node (native addon and WASM), Deno (WASM) and workerd (WASM, through miniflare), each built
 * from the same seeded data in its own runtime. Ratios are to Node WASM, measured in this run:
 * the same WebAssembly should run as fast everywhere. Then the time from a Deno or workerd
 * peer's start to its first bounded-staleness read.
 */
const quick = process.argv.includes('--quick')
const workload = {
  n: quick ? 2000 : 10_000,
  d: 128,
  queries: quick ? 200 : 1000,
  k: 10,
  passes: quick ? 3 : 5,
}
const here = (p: string) => fileURLToPath(new URL(p, import.meta.url))

execFileSync('npm', ['run', 'build', '--silent'], { stdio: 'inherit' })
console.log(
  `runtimes: n=${workload.n} d=${workload.d} queries=${workload.queries} k=${workload.k}, best of ${workload.passes}`,
)

const now = () => performance.now()
const nodeNative = await runSearchWorkload({ ...workload, engine: 'native', now })
const nodeWasm = await runSearchWorkload({ ...workload, engine: 'wasm', now })

const denoOut = execFileSync(
  DENO[0],
  [
    'run',
    '--quiet',
    '--no-lock',
    '--allow-read',
    '--allow-env',
    here('./_deno-workload.ts'),
    JSON.stringify(workload),
  ],
  { encoding: 'utf8' },
)
const deno = JSON.parse(denoOut.trim().split('\n').at(-1) ?? '{}') as WorkloadResult

const workerd = await startWorkerd(await bundleWorker(here('../apps/edge/test/fixtures/index-worker.ts')))
let edge: WorkloadResult
try {
  const query = new URLSearchParams(
    Object.entries(workload).map(([k, v]): [string, string] => [k, String(v)]),
  )
  const res = await fetch(`${workerd.url}/workload?${query}`)
  if (!res.ok) throw new Error(`workerd: ${res.status} ${await res.text()}`)
  edge = (await res.json()) as WorkloadResult
} finally {
  await workerd.stop()
}

// Start to first bounded read (maxStalenessMs 1000) of a Deno and a workerd peer joining a
// running Node group as learners (apps/deno/bench/first-read.ts, its own process).
const firstRead = JSON.parse(
  execFileSync('npx', ['tsx', here('../apps/deno/bench/first-read.ts')], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .at(-1) ?? '{}',
) as Record<string, number>
console.log(
  `first bounded read: deno ${firstRead.deno_first_read_ms} ms from spawn, workerd ${firstRead.workerd_first_read_ms} ms from start`,
)

const rows: [string, WorkloadResult][] = [
  ['node native', nodeNative],
  ['node wasm', nodeWasm],
  ['deno wasm', deno],
  ['workerd wasm', edge],
]
for (const [name, r] of rows) {
  const same = r.checksum === nodeWasm.checksum ? 'same hits as node wasm' : `checksum ${r.checksum}`
  console.log(
    `${name.padEnd(13)} ${r.qps.toFixed(0).padStart(8)} q/s  x${(r.qps / nodeWasm.qps).toFixed(2)}  ${same}`,
  )
}
const round = (x: number, places = 3) => Number(x.toFixed(places))
console.log(
  JSON.stringify({
    n: workload.n,
    d: workload.d,
    queries: workload.queries,
    qps_node_native: round(nodeNative.qps, 0),
    qps_node_wasm: round(nodeWasm.qps, 0),
    qps_deno_wasm: round(deno.qps, 0),
    qps_workerd_wasm: round(edge.qps, 0),
    ratio_node_native: round(nodeNative.qps / nodeWasm.qps),
    ratio_deno_wasm: round(deno.qps / nodeWasm.qps),
    ratio_workerd_wasm: round(edge.qps / nodeWasm.qps),
    same_hits_deno: deno.checksum === nodeWasm.checksum,
    same_hits_workerd: edge.checksum === nodeWasm.checksum,
    ...firstRead,
  }),
)
