import type { Peer, PeerStatus } from '@flotilla/core'
import { Hono } from 'hono'

/** Ready = running, a leader is known, and this peer applied what it knows is committed (within `maxLag`). */
export function isReady(status: PeerStatus, maxLag: number): boolean {
  return status.state === 'running' && status.leader !== null && status.commit - status.applied <= maxLag
}

/** `GET /v1/status`, `/healthz` (the process answers) and `/readyz`. */
export function statusRoutes(peer: Peer, readyLagEntries: number): Hono {
  const app = new Hono()
  app.get('/v1/status', (c) => c.json(peer.status()))
  app.get('/healthz', (c) => c.json({ ok: true }))
  app.get('/readyz', (c) => {
    const status = peer.status()
    const ready = isReady(status, readyLagEntries)
    const { leader, commit, applied, state } = status
    return c.json({ ready, leader, commit, applied, state }, ready ? 200 : 503)
  })
  return app
}
