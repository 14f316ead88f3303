import { describe, expect, it } from 'vitest'

// Node built-ins through variables: core's tsconfig has no Node types, on purpose.
const load = (m: string) => import(/* @vite-ignore */ m)
const { execFile } = await load('node:child_process')
const { fileURLToPath } = await load('node:url')
const root: string = fileURLToPath(new URL('../../../../', import.meta.url))
declare const URL: new (url: string, base: string) => object

/** Runs the simulator's CLI; resolves with its output whatever its exit code. */
function sim(args: string[]): Promise<string> {
  return new Promise((resolve) => {
    execFile(
      'npx',
      ['tsx', 'packages/core/src/sim/cli.ts', ...args],
      { cwd: root, maxBuffer: 1 << 24 },
      (_err: unknown, stdout: string) => resolve(stdout),
    )
  })
}

/** The output without the lines that hold wall-clock times. */
const results = (out: string) =>
  out
    .split('\n')
    .filter((l) => !l.startsWith('reads:') && !l.startsWith('  ...'))
    .join('\n')

describe('npm run sim -- --jobs N', () => {
  it('prints the same results, in seed order, as one process', async () => {
    // A broken rule, so that some seeds report violations and their order shows.
    const args = ['--seeds', '6', '--fault', 'unprovenStaleRead']
    const [one, two] = await Promise.all([sim(args), sim([...args, '--jobs', '2'])])
    expect(one).toMatch(/^sim: 6 seeds, [1-6] violations/m)
    expect(results(two)).toEqual(results(one))
  }, 180_000)
})
