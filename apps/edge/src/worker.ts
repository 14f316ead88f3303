// The Worker: /peer/<name>/... reaches the Durable Object called <name>, one Flotilla peer each.

import { type EdgePeer, type EdgePeerOptions, openEdgePeer } from './edge-peer.js'
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
      if (path === '/v1/status') return json(edge.peer.status())
      const search = path.match(/^\/v1\/collections\/([^/]+)\/search$/)
      if (search && request.method === 'POST') {
        // Until apps/peer's Hono routes can be mounted here: the same body and answer shape.
        const body = (await request.json()) as { vector: number[]; k?: number }
        const url = new URL(request.url)
        const maxStalenessMs = url.searchParams.get('maxStalenessMs')
        const minIndex = url.searchParams.get('minIndex')
        const result = await edge.peer
          .collection(decodeURIComponent(search[1]))
          .search(Float32Array.from(body.vector), {
            k: body.k ?? 10,
            consistency: maxStalenessMs === null ? 'local' : { maxStalenessMs: Number(maxStalenessMs) },
            ...(minIndex === null ? {} : { minIndex: Number(minIndex) }),
          })
        return json(result)
      }
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
