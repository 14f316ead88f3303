import type { RunOptions, RunSeed, SeedReport } from './seed-runner.js'

// The CLI's child processes. Node built-ins are imported here at run time only: core's library
// modules stay free of them.

interface ChildProcess {
  send(message: unknown): boolean
  on(event: 'message', fn: (message: unknown) => void): void
  on(event: 'exit', fn: (code: number | null) => void): void
  kill(): void
}
interface ChildProcessModule {
  fork(script: string, args: string[], options: { stdio: unknown[] }): ChildProcess
}
interface WorkerProcess {
  argv: string[]
  send?(message: unknown): boolean
  on(event: 'message', fn: (message: unknown) => void): void
  disconnect?(): void
}
declare const process: WorkerProcess

type ToWorker = { seed: number } | { stop: true }
type FromWorker = { report: SeedReport }

/** Runs `seeds` in `jobs` children of this script; `onReport` sees each report as it arrives. */
export async function runInChildren(
  args: string[],
  seeds: number[],
  jobs: number,
  onReport: (r: SeedReport) => void,
): Promise<void> {
  const cp = (await import(/* @vite-ignore */ 'node:child_process' as string)) as ChildProcessModule
  const queue = [...seeds]
  const running = new Set<ChildProcess>()
  await new Promise<void>((resolve) => {
    const next = (child: ChildProcess, current: { seed?: number }) => {
      const seed = queue.shift()
      current.seed = seed
      child.send((seed === undefined ? { stop: true } : { seed }) satisfies ToWorker)
    }
    for (let j = 0; j < Math.min(jobs, seeds.length); j++) {
      const child = cp.fork(process.argv[1], [...args, '--worker'], {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      })
      const current: { seed?: number } = {}
      running.add(child)
      child.on('message', (m) => {
        onReport((m as FromWorker).report)
        next(child, current)
      })
      child.on('exit', (code) => {
        running.delete(child)
        if (current.seed !== undefined) {
          // A child that died mid-seed is a failure of that seed, not a silent gap.
          onReport(failed(current.seed, `the worker running this seed exited with code ${code}`))
          current.seed = undefined
          while (queue.length > 0) onReport(failed(queue.shift()!, 'not run: a worker exited'))
        }
        if (running.size === 0) resolve()
      })
      next(child, current)
    }
  })
}

/** The child's side: runs each seed the parent sends and answers with its report. */
export function serveSeeds(run: RunSeed, options: RunOptions): void {
  process.on('message', (m) => {
    const msg = m as ToWorker
    if ('stop' in msg) {
      process.disconnect?.()
      return
    }
    void run(msg.seed, options).then((report) => process.send?.({ report } satisfies FromWorker))
  })
}

function failed(seed: number, why: string): SeedReport {
  return { seed, shape: 'unknown', violations: [why], operations: 0, reads: {}, steps: 0, trace: [] }
}
