import type { Plugin } from 'vite'
import { createCoordinator, type DemoConfig } from './coordinator.js'

/**
 * Serves the rendezvous (coordinator.ts) beside the app, in `vite` and `vite preview`. Without
 * a config it reads the relay from FLOTILLA_DEMO_RELAY (and FLOTILLA_DEMO_WITNESS, default: the relay),
 * as `npm start` sets them.
 */
export function flotillaRendezvous(config?: DemoConfig, stateFile?: string): Plugin {
  const resolved = config ?? configFromEnv()
  const coordinator = resolved
    ? createCoordinator(resolved, stateFile ?? process.env.FLOTILLA_DEMO_STATE)
    : null
  const middleware = coordinator?.middleware ?? ((_req: unknown, _res: unknown, next: () => void) => next())
  return {
    name: 'flotilla-rendezvous',
    configureServer: (server) => void server.middlewares.use(middleware),
    configurePreviewServer: (server) => void server.middlewares.use(middleware),
  }
}

function configFromEnv(): DemoConfig | null {
  const relay = process.env.FLOTILLA_DEMO_RELAY
  if (!relay) return null
  const relayId = relay.split('/p2p/').at(-1) as string
  const witness = process.env.FLOTILLA_DEMO_WITNESS ?? relayId
  return { relay, witness, nodeAddrs: { [relayId]: [relay] }, local: true }
}
