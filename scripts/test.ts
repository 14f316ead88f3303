import { spawn } from 'node:child_process'
import { existsSync, readFileSync, rmSync } from 'node:fs'
import { type Counts, steps } from './test-steps.js'

/** Runs every suite, echoing its output, and ends with one line summing them all. */
async function run(command: string, args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (d: Buffer) => {
      process.stdout.write(d)
      output += d.toString()
    })
    child.stderr.on('data', (d: Buffer) => {
      process.stderr.write(d)
      output += d.toString()
    })
    child.on('close', (code) => resolve({ code: code ?? 1, output }))
  })
}

function vitestCounts(): Counts | null {
  const file = '.vitest-results/results.json'
  if (!existsSync(file)) return null
  const r = JSON.parse(readFileSync(file, 'utf8'))
  return {
    passed: r.numPassedTests,
    failed: r.numFailedTests,
    skipped: r.numPendingTests + r.numTodoTests,
  }
}

const only = process.argv.slice(2)
const total: Counts = { passed: 0, failed: 0, skipped: 0 }
rmSync('.vitest-results', { recursive: true, force: true })
for (const step of steps) {
  if (only.length > 0 && !only.includes(step.name)) continue
  console.log(`\n=== ${step.name} ===`)
  const { code, output } = await run(step.command, step.args)
  const counts = step.name === 'vitest' ? vitestCounts() : step.parse(output)
  if (!counts) {
    console.log(`${step.name}: no counts in its output (exit ${code}): counted as 1 failure`)
    total.failed += 1
    continue
  }
  // A step that exits non-zero yet reports no failure still failed.
  if (code !== 0 && counts.failed === 0) counts.failed = 1
  console.log(`${step.name}: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`)
  total.passed += counts.passed
  total.failed += counts.failed
  total.skipped += counts.skipped
}
console.log(`\n${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`)
process.exit(total.failed === 0 ? 0 : 1)
