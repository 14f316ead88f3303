import type { CollectionOptions, Peer } from '@flotilla/core'
import { Hono } from 'hono'
import { HttpInputError } from './errors.js'
import { jsonBody, readOptions, setReadHeaders, writeOptions } from './params.js'

/** `/v1/collections`: create, drop, list, describe. */
export function collectionRoutes(peer: Peer): Hono {
  const app = new Hono()

  app.get('/', async (c) => {
    const { collections, ...info } = await peer.listCollections(readOptions(c))
    setReadHeaders(c, info)
    return c.json({ collections })
  })

  app.get('/:name', async (c) => {
    const name = c.req.param('name')
    const { collections, ...info } = await peer.listCollections(readOptions(c))
    setReadHeaders(c, info)
    const found = collections.find((x) => x.name === name)
    if (!found)
      throw new HttpInputError(404, 'ERR_UNKNOWN_COLLECTION', 'name', `no collection named "${name}"`)
    return c.json(found)
  })

  app.put('/:name', async (c) => {
    // The peer validates the options (dimensions, metric...) and names the bad field.
    const options = (await jsonBody(c)) as unknown as CollectionOptions
    const result = await peer.createCollection(c.req.param('name'), options, writeOptions(c))
    return c.json(result, result.created ? 201 : 200)
  })

  app.delete('/:name', async (c) => {
    const name = c.req.param('name')
    const result = await peer.dropCollection(name, writeOptions(c))
    if (!result.dropped)
      throw new HttpInputError(404, 'ERR_UNKNOWN_COLLECTION', 'name', `no collection named "${name}"`)
    return c.json(result)
  })

  return app
}
