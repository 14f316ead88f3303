import type { Filter, Peer, PeerSearchOptions } from '@flotilla/core'
import { Hono } from 'hono'
import { badInput } from './errors.js'
import { jsonBody, objectAt, readOptions, setReadHeaders, vectorAt } from './params.js'

const positiveInt = (value: unknown, field: string): number => {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw badInput(field, 'must be a positive integer')
  }
  return value
}

/** `POST /v1/collections/:name/search` `{ vector, k, filter, ef }` → `{ hits, index }`. */
export function searchRoutes(peer: Peer): Hono {
  const app = new Hono()
  app.post('/:name/search', async (c) => {
    const body = await jsonBody(c)
    const vector = vectorAt(body.vector, 'vector')
    const options: PeerSearchOptions = { ...readOptions(c), k: positiveInt(body.k ?? 10, 'k') }
    if (body.filter !== undefined && body.filter !== null)
      options.filter = objectAt(body.filter, 'filter') as Filter
    if (body.ef !== undefined) options.ef = positiveInt(body.ef, 'ef')
    const { hits, ...info } = await peer.collection(c.req.param('name')).search(vector, options)
    setReadHeaders(c, info)
    return c.json({ hits, index: info.index })
  })
  return app
}
