// The Worker: /peer/<name>/... reaches the Durable Object called <name>, one Flotilla peer each.

import { type EdgePeer, type EdgePeerOptions, openEdgePeer } from './edge-peer.js'
import { answerPeerRoute } from './peer-routes.js'
import usearchWasm from './usearch.wasm'
import type { DurableObjectNamespace, DurableObjectState } from './workerd-types.js'

interface Env {
  PEER: DurableObjectNamespace
  /** "1" in tests and local development: ws:// and loopback dials. */
  FLOTILLA_INSECURE_LOCAL_DIALS?: string
}

const json = (body: unknown, status = 200) => Response.json(body, { status })

export class FlotillaEdgePeer {
  private opened: Promise<EdgePeer> | undefined

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly env: Env,
  ) {}

  async fetch(request: Request): Promise<Response> {
    const path = new URL(request.url).pathname.replace(/^\/peer\/[^/]+/, '')
    try {
      if (path === '/join' && request.method === 'POST') {
        const body = (await request.json()) as Pick<EdgePeerOptions, 'contacts' | 'role' | 'raft'>
        this.opened ??= openEdgePeer(this.ctx.storage, {
          ...body,
          wasm: usearchWasm,
          allowInsecureLocalDials: this.env.FLOTILLA_INSECURE_LOCAL_DIALS === '1',
        })
        const edge = await this.opened
        return json({ id: edge.id })
      }
      const edge = await this.opened
      if (!edge) return json({ error: { code: 'ERR_NOT_JOINED', message: 'POST /join first' } }, 409)
      const answer = await answerPeerRoute(edge.peer, request, path)
      if (answer) return answer
      return json({ error: { code: 'ERR_NOT_FOUND', message: `no route ${path}` } }, 404)
    } catch (err) {
      const e = err as Error & { code?: string }
      return json({ error: { code: e.code ?? 'ERR_INTERNAL', message: e.message } }, e.code ? 400 : 500)
    }
  }
}

export default {
  fetch(request: Request, env: Env): Promise<Response> {
    const name = new URL(request.url).pathname.match(/^\/peer\/([^/]+)/)?.[1]
    if (!name)
      return Promise.resolve(json({ error: { code: 'ERR_NOT_FOUND', message: 'use /peer/<name>/...' } }, 404))
    return env.PEER.get(env.PEER.idFromName(name)).fetch(request)
  },
}
