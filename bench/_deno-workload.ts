// Run by bench/runtimes.ts in Deno: the search workload with the WASM index, one JSON line out.
import { runSearchWorkload, type WorkloadOptions } from './_runtime-workload.ts'

declare const Deno: { args: string[] }

const options = JSON.parse(Deno.args[0]) as Omit<WorkloadOptions, 'now' | 'engine'>
console.log(
  JSON.stringify(await runSearchWorkload({ ...options, engine: 'wasm', now: () => performance.now() })),
)
