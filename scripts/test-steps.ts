/**
 * Every suite `npm test` runs, in order. Each prints its own output and is reduced to counts;
 * add a step here when a package brings a suite that does not run under Vitest.
 */
export interface Counts {
  passed: number
  failed: number
  skipped: number
}

export interface TestStep {
  name: string
  command: string
  args: string[]
  /** Reads the counts from the step's output; return null if the output holds none. */
  parse(output: string): Counts | null
}

const lastMatch = (output: string, re: RegExp): RegExpMatchArray | null => {
  const all = [...output.matchAll(new RegExp(re.source, `${re.flags.replace('g', '')}g`))]
  return all.at(-1) ?? null
}

function parseSimulator(output: string): Counts | null {
  const m = lastMatch(output, /^sim: (\d+) seeds, (\d+) violations/m)
  if (!m) return null
  const seeds = Number(m[1])
  const violations = Number(m[2])
  return { passed: seeds - violations, failed: violations, skipped: 0 }
}

export const steps: TestStep[] = [
  {
    name: 'chromium',
    command: 'bash',
    args: ['scripts/ensure-chromium.sh'],
    parse: () => ({ passed: 0, failed: 0, skipped: 0 }),
  },
  {
    name: 'vitest',
    command: 'npx',
    args: [
      'vitest',
      'run',
      '--reporter=default',
      '--reporter=json',
      '--outputFile.json=.vitest-results/results.json',
    ],
    parse: () => null, // read from the JSON report, see test.ts
  },
  {
    // The simulator driving real openPeer instances (packages/core/src/sim/peer-world.ts), in two
    // child processes (the output stays in seed order).
    name: 'simulator',
    command: 'npx',
    args: [
      'tsx',
      'packages/core/src/sim/cli.ts',
      '--seeds',
      process.env.SIM_SEEDS ?? '1000',
      '--jobs',
      process.env.SIM_JOBS ?? '2',
    ],
    parse: parseSimulator,
  },
  {
    // The Raft-only loop (packages/core/src/sim/run-seed.ts): the core alone, many more steps per second.
    name: 'simulator-raft',
    command: 'npx',
    args: [
      'tsx',
      'packages/core/src/sim/cli.ts',
      '--driver',
      'raft',
      '--seeds',
      process.env.SIM_RAFT_SEEDS ?? '1000',
    ],
    parse: parseSimulator,
  },
  {
    // storage-fs crash test: each SIGKILL that recovered with nothing lost counts as a pass;
    // a kill after which acknowledged records were lost (or the log was inconsistent) as a failure.
    name: 'crash-fs',
    command: 'npx',
    args: [
      'tsx',
      'packages/storage-fs/test/crash/cli.ts',
      'fs',
      '--iterations',
      process.env.CRASH_ITERATIONS ?? '50',
    ],
    parse(output) {
      const m = lastMatch(output, /^crash: (\d+) kills, (\d+) lost acknowledged records/m)
      if (!m) return null
      const bad = lastMatch(output, /^crash: (\d+) inconsistencies/m)
      const failed = Math.min(Number(m[1]), Number(m[2]) + Number(bad?.[1] ?? 0))
      return { passed: Number(m[1]) - failed, failed, skipped: 0 }
    },
  },
  {
    // storage-fs crash model: a crash before every file operation of a workload, recovered as
    // kill -9 and as power loss left the disk; each crash point checked is a pass, each
    // violation a failure.
    name: 'crash-fs-model',
    command: 'npx',
    args: ['tsx', 'packages/storage-fs/test/crash/cli.ts', 'fs-model'],
    parse(output) {
      const m = lastMatch(output, /^crash-model: (\d+) crash points, (\d+) violations/m)
      if (!m) return null
      const failed = Math.min(Number(m[1]), Number(m[2]))
      return { passed: Number(m[1]) - failed, failed, skipped: 0 }
    },
  },
  {
    // End to end (playwright.config.ts): tabs of Debian's Chromium and a Node witness. The list
    // reporter ends with lines such as "  7 passed (2.1m)", "  1 failed", "  1 skipped".
    name: 'e2e',
    command: 'npx',
    args: ['playwright', 'test'],
    parse: parsePlaywright,
  },
]

/** Counts from Playwright's list reporter; tests that did not run or were interrupted fail. */
export function parsePlaywright(output: string): Counts | null {
  const count = (label: string) =>
    Number(lastMatch(output, new RegExp(`^\\s+(\\d+) ${label}\\b`, 'm'))?.[1] ?? 0)
  const passed = count('passed')
  const failed = count('failed') + count('flaky') + count('interrupted') + count('did not run')
  const skipped = count('skipped')
  if (passed + failed + skipped === 0) return null
  return { passed, failed, skipped }
}
