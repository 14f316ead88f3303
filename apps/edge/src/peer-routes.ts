import type { Consistency, Peer } from '@flotilla/core'

/**
 * The few routes the Deno and workerd peers answer until apps/peer's Hono app can be mounted
 * in their place: the same paths, query parameters and answer shapes as apps/peer
 * (`/v1/status`, `POST /v1/collections/:name/points`, `POST /v1/collections/:name/search`).
 * Returns null for any other path.
 */
export async function answerPeerRoute(peer: Peer, request: Request, path: string): Promise<Response | null> {
  try {
    if (path === '/v1/status') return Response.json(peer.status())
    const route = path.match(/^\/v1\/collections\/([^/]+)\/(points|search)$/)
    if (!route || request.method !== 'POST') return null
    const collection = peer.collection(decodeURIComponent(route[1]))
    const body = (await request.json()) as {
      id?: string
      vector: number[]
      metadata?: Record<string, unknown>
      k?: number
    }
    if (route[2] === 'points') {
      return Response.json(
        await collection.upsert(String(body.id), Float32Array.from(body.vector), body.metadata),
      )
    }
    const query = new URL(request.url).searchParams
    const minIndex = query.get('minIndex')
    return Response.json(
      await collection.search(Float32Array.from(body.vector), {
        k: body.k ?? 10,
        consistency: consistencyOf(query),
        ...(minIndex === null ? {} : { minIndex: Number(minIndex) }),
      }),
    )
  } catch (err) {
    const e = err as Error & { code?: string }
    const status = e.code === 'ERR_NO_LEADER' || e.code === 'ERR_STALE' ? 503 : e.code ? 400 : 500
    return Response.json({ error: { code: e.code ?? 'ERR_INTERNAL', message: e.message } }, { status })
  }
}

function consistencyOf(query: URLSearchParams): Consistency {
  const maxStalenessMs = query.get('maxStalenessMs')
  if (maxStalenessMs !== null) return { maxStalenessMs: Number(maxStalenessMs) }
  const level = query.get('consistency') ?? 'linearizable'
  if (level === 'linearizable' || level === 'lease' || level === 'local') return level
  throw Object.assign(new Error(`consistency must be linearizable, lease or local, not ${level}`), {
    code: 'ERR_INVALID',
  })
}
