// Bundled into the test page served by browser-harness.ts: exposes the package to page.evaluate().
import * as api from '../src/index.js'

;(globalThis as unknown as { flotillaIdb: typeof api }).flotillaIdb = api
