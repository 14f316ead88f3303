import { type Metadata, type Peer, type Point, StateMachineError } from '@flotilla/core'
import { Hono } from 'hono'
import { badInput, HttpInputError } from './errors.js'
import {
  jsonBody,
  objectAt,
  readOptions,
  setReadHeaders,
  stringAt,
  vectorAt,
  writeOptions,
} from './params.js'

const unknownPoint = (id: string) =>
  new HttpInputError(404, 'ERR_UNKNOWN_ID', 'id', `no point with id "${id}"`)

function pointsOf(body: Record<string, unknown>): Point[] {
  if (!Array.isArray(body.points)) throw badInput('points', 'must be an array of { id, vector, metadata }')
  return body.points.map((raw, i) => {
    const p = objectAt(raw, `points[${i}]`)
    const point: Point = {
      id: stringAt(p.id, `points[${i}].id`),
      vector: vectorAt(p.vector, `points[${i}].vector`),
    }
    if (p.metadata !== undefined && p.metadata !== null) {
      point.metadata = objectAt(p.metadata, `points[${i}].metadata`) as Metadata
    }
    return point
  })
}

/** The state machine names an upsert's `items`; this route's body calls them `points`. */
function inBodyTerms(err: unknown): unknown {
  if (!(err instanceof StateMachineError) || !err.field?.startsWith('items')) return err
  const field = `points${err.field.slice('items'.length)}`
  const message = err.message.startsWith(`${err.field}: `)
    ? err.message.slice(err.field.length + 2)
    : err.message
  return new StateMachineError(err.code, field, message)
}

/** `/v1/collections/:name/points`: upsert, update metadata, delete, get. */
export function pointRoutes(peer: Peer): Hono {
  const app = new Hono()

  app.post('/:name/points', async (c) => {
    const points = pointsOf(await jsonBody(c))
    const result = await peer
      .collection(c.req.param('name'))
      .upsert(points, writeOptions(c))
      .catch((err: unknown) => {
        throw inBodyTerms(err)
      })
    return c.json(result)
  })

  app.patch('/:name/points/:id', async (c) => {
    const body = await jsonBody(c)
    const metadata = objectAt(body.metadata, 'metadata') as Metadata
    const id = c.req.param('id')
    const result = await peer.collection(c.req.param('name')).update(id, metadata, writeOptions(c))
    if (!result.updated) throw unknownPoint(id)
    return c.json(result)
  })

  app.delete('/:name/points/:id', async (c) => {
    const id = c.req.param('id')
    const result = await peer.collection(c.req.param('name')).delete(id, writeOptions(c))
    if (result.deleted === 0) throw unknownPoint(id)
    return c.json(result)
  })

  app.get('/:name/points/:id', async (c) => {
    const id = c.req.param('id')
    const { point, ...info } = await peer.collection(c.req.param('name')).get(id, readOptions(c))
    setReadHeaders(c, info)
    if (!point) throw unknownPoint(id)
    return c.json({
      id: point.id,
      vector: Array.from(point.vector),
      metadata: point.metadata,
      index: info.index,
    })
  })

  return app
}
