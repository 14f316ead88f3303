// Bundled into the test page served by browser-harness.ts: exposes the package to page.evaluate().
import * as api from '../src/index.js'

const page = globalThis as unknown as { flotillaIdb: typeof api; unhandled: string[] }
page.flotillaIdb = api
// Every unhandled rejection on the page, so that tests can require there were none.
page.unhandled = []
addEventListener('unhandledrejection', (event) => {
  page.unhandled.push(String((event as PromiseRejectionEvent).reason))
})
