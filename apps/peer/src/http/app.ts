import { timingSafeEqual } from 'node:crypto'
import type { Peer } from '@flotilla/core'
import { type Context, Hono } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { routePath } from 'hono/route'
import type { PeerMetricsRegistry } from '../metrics.js'
import { collectionRoutes } from './collections.js'
import { HttpInputError, toHttpError } from './errors.js'
import { type MemberAdmin, memberRoutes } from './members.js'
import { pointRoutes } from './points.js'
import { searchRoutes } from './search.js'
import { statusRoutes } from './status.js'

export interface HttpApiOptions {
  peer: Peer
  /** Membership operations (default: the peer's own, leader only). */
  admin?: MemberAdmin
  /** When set, every write and admin route needs `Authorization: Bearer <token>`. */
  token?: string
  /** Largest request body in bytes (default 16 MiB). */
  bodyLimitBytes?: number
  metrics?: PeerMetricsRegistry
  /** /readyz tolerates this many committed but unapplied entries (default 100). */
  readyLagEntries?: number
  /** Errors that are not the client's (status 500), for the log; bad input never comes here. */
  onInternalError?: (error: unknown, c: Context) => void
}

/** Reads need no token: GET and search. Everything else writes or administers. */
const isRead = (c: Context) =>
  c.req.method === 'GET' || c.req.method === 'HEAD' || c.req.path.endsWith('/search')

function bearerCheck(token: string) {
  const expected = Buffer.from(`Bearer ${token}`)
  return (c: Context): boolean => {
    const given = Buffer.from(c.req.header('authorization') ?? '')
    return given.length === expected.length && timingSafeEqual(given, expected)
  }
}

/** The HTTP API (`/v1`, `/metrics`, `/healthz`, `/readyz`) as a Hono app; serve it with any adapter. */
export function createHttpApi(options: HttpApiOptions): Hono {
  const { peer, metrics } = options
  const admin = options.admin ?? peer
  const app = new Hono()

  app.onError((error, c) => {
    const { status, body, headers } = toHttpError(error, peer.status().leader)
    if (status >= 500 && body.error.code === 'ERR_INTERNAL') options.onInternalError?.(error, c)
    for (const [k, v] of Object.entries(headers)) c.header(k, v)
    return c.json(body, status as 500)
  })
  app.notFound(() => {
    throw new HttpInputError(404, 'ERR_NOT_FOUND', undefined, 'no such route')
  })

  if (metrics) {
    app.use(async (c, next) => {
      const started = performance.now()
      await next()
      metrics.observeRequest(c.req.method, routePath(c), c.res.status, (performance.now() - started) / 1000)
    })
    app.get('/metrics', async (c) => {
      const { contentType, body } = await metrics.render()
      return c.body(body, 200, { 'Content-Type': contentType })
    })
  }

  if (options.token) {
    const authorized = bearerCheck(options.token)
    app.use('/v1/*', async (c, next) => {
      if (!isRead(c) && !authorized(c)) {
        c.header('WWW-Authenticate', 'Bearer')
        throw new HttpInputError(401, 'ERR_UNAUTHORIZED', 'authorization', 'a valid bearer token is required')
      }
      await next()
    })
  }

  const maxSize = options.bodyLimitBytes ?? 16 * 1024 * 1024
  app.use(
    '/v1/*',
    bodyLimit({
      maxSize,
      onError: () => {
        throw new HttpInputError(413, 'ERR_BODY_TOO_LARGE', 'body', `larger than ${maxSize} bytes`)
      },
    }),
  )

  app.route('/', statusRoutes(peer, options.readyLagEntries ?? 100))
  app.route('/v1', memberRoutes(peer, admin))
  app.route('/v1/collections', collectionRoutes(peer))
  app.route('/v1/collections', pointRoutes(peer))
  app.route('/v1/collections', searchRoutes(peer))
  return app
}
