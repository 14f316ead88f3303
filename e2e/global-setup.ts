import { build } from 'vite'
import { DEMO_ROOT } from './fixtures/cluster.js'

/** Builds the demo once; every test serves the build with its own rendezvous. */
export default async function globalSetup(): Promise<void> {
  await build({ root: DEMO_ROOT, configFile: `${DEMO_ROOT}/vite.config.ts`, logLevel: 'warn' })
}
