import { expect, it } from 'vitest'
import { createIndex, resolveEngine } from '../../src/vector/index.js'
import { describeIndexSuite } from './index-suite.js'

// On a Chromium page the default engine must be WASM: no addon, no Node built-ins.
it('picks WASM by default in the browser', async () => {
  expect(await resolveEngine()).toBe('wasm')
  expect((await createIndex({ dimensions: 4 })).engine).toBe('wasm')
})

describeIndexSuite('wasm', (options) => createIndex(options))
