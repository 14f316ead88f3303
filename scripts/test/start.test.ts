import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { expect, it } from 'vitest'

it('npm start elects a leader, commits writes and fails over when the leader crashes', async () => {
  const { stdout } = await promisify(execFile)('npx', ['tsx', 'scripts/start.ts', '--seconds', '11'], {
    timeout: 60_000,
  })
  const leaders = [...stdout.matchAll(/(p\d) is the leader of term (\d+)/g)]
  expect(leaders.length).toBeGreaterThanOrEqual(2)
  expect(new Set(leaders.map((m) => m[1])).size).toBeGreaterThanOrEqual(2)
  expect(stdout).toMatch(/crashing the leader/)
  const after = stdout.slice(stdout.indexOf('crashing the leader'))
  expect(after).toMatch(/committed #\d+/)
})
