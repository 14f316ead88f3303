import { describe, expect, it } from 'vitest'
import { parsePlaywright } from '../test-steps.js'

describe("the e2e step's counts", () => {
  it("reads Playwright's list reporter summary", () => {
    const output = [
      'Running 3 tests using 1 worker',
      '  ✓  1 e2e/a.spec.ts:3:1 › a (1.2s)',
      '  ✘  2 e2e/a.spec.ts:4:1 › b (10ms)',
      '  1 failed',
      '    e2e/a.spec.ts:4:1 › b ──────',
      '  1 skipped',
      '  7 passed (3.4m)',
    ].join('\n')
    expect(parsePlaywright(output)).toEqual({ passed: 7, failed: 1, skipped: 1 })
  })

  it('counts flaky, interrupted and not-run tests as failures, and finds no counts in a crash', () => {
    expect(parsePlaywright('  2 flaky\n  1 interrupted\n  3 did not run\n  4 passed (1s)')).toEqual({
      passed: 4,
      failed: 6,
      skipped: 0,
    })
    expect(parsePlaywright('Error: Cannot find module playwright.config.ts')).toBeNull()
  })
})
