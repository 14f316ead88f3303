import { DimensionMismatchError, PeerError, UnknownCollectionError } from '@flotilla/core'
import { beforeEach, describe, expect, it } from 'vitest'
import { createHttpApi } from '../src/http/app.js'
import { PeerMetricsRegistry } from '../src/metrics.js'
import { FakePeer } from './fake-peer.js'

// The HTTP layer alone, against a recording double of Peer: routes translate requests into
// peer calls and errors into statuses. The real peer is exercised by the process tests.
let peer: FakePeer
let app: ReturnType<typeof createHttpApi>

const json = (method: string, body: unknown, headers: Record<string, string> = {}) => ({
  method,
  headers: { 'content-type': 'application/json', ...headers },
  body: typeof body === 'string' ? body : JSON.stringify(body),
})

beforeEach(() => {
  peer = new FakePeer()
  const metrics = new PeerMetricsRegistry({ peer: () => peer })
  app = createHttpApi({ peer, token: 'sesame', bodyLimitBytes: 4096, metrics })
})

const auth = { authorization: 'Bearer sesame' }

interface Answer {
  error: { code: string; field?: string }
  members: unknown[]
  hits: unknown[]
}
const read = async (r: Response) => (await r.json()) as Answer

describe('routes call the peer API', () => {
  it('creates a collection, upserts, updates, deletes, gets and searches', async () => {
    let r = await app.request('/v1/collections/docs', json('PUT', { dimensions: 3, metric: 'cos' }, auth))
    expect(r.status).toBe(201)
    expect(await read(r)).toEqual({ index: 11, created: true })
    expect(peer.calls[0]).toEqual({
      op: 'createCollection',
      args: ['docs', { dimensions: 3, metric: 'cos' }, {}],
    })

    const points = [{ id: 'a', vector: [1, 2, 3], metadata: { t: 1 } }]
    r = await app.request(
      '/v1/collections/docs/points',
      json('POST', { points }, { ...auth, 'flotilla-client-id': 'c1', 'flotilla-seq': '7' }),
    )
    expect(await read(r)).toEqual({ index: 13, upserted: 1 })
    expect(peer.calls[1]).toEqual({
      op: 'upsert',
      args: ['docs', points, { session: { client: 'c1', seq: 7 } }],
    })

    peer.points.set('a', { id: 'a', vector: new Float32Array([1, 2, 3]), metadata: { t: 1 } })
    r = await app.request('/v1/collections/docs/points/a', json('PATCH', { metadata: { t: 2 } }, auth))
    expect(await read(r)).toEqual({ index: 14, updated: true })

    r = await app.request('/v1/collections/docs/points/a?consistency=bounded&maxStalenessMs=250&minIndex=9')
    expect(r.status).toBe(200)
    expect(await read(r)).toEqual({ id: 'a', vector: [1, 2, 3], metadata: { t: 1 }, index: 10 })
    expect(r.headers.get('flotilla-read-index')).toBe('10')
    expect(r.headers.get('flotilla-staleness-ms')).toBe('0')
    expect(peer.calls.at(-1)?.args).toEqual([
      'docs',
      'a',
      { consistency: { maxStalenessMs: 250 }, minIndex: 9 },
    ])

    r = await app.request(
      '/v1/collections/docs/search?consistency=local',
      json('POST', { vector: [1, 2, 3], k: 2 }),
    )
    expect((await read(r)).hits).toEqual([{ id: 'a', distance: 0.5, metadata: { t: 1 } }])
    expect(peer.calls.at(-1)?.args).toEqual(['docs', [1, 2, 3], { consistency: 'local', k: 2 }])

    r = await app.request('/v1/collections/docs/points/a', { method: 'DELETE', headers: auth })
    expect(await read(r)).toEqual({ index: 15, deleted: 1 })
  })

  it('answers 404 for an absent point on get, update and delete', async () => {
    expect((await app.request('/v1/collections/docs/points/zz')).status).toBe(404)
    const patch = await app.request('/v1/collections/docs/points/zz', json('PATCH', { metadata: {} }, auth))
    expect(patch.status).toBe(404)
    expect((await read(patch)).error.code).toBe('ERR_UNKNOWN_ID')
    expect(
      (await app.request('/v1/collections/docs/points/zz', { method: 'DELETE', headers: auth })).status,
    ).toBe(404)
  })

  it('states the staleness bound in whole milliseconds, rounded up, or unbounded', async () => {
    const header = async (stalenessMs: number | null) => {
      peer.readInfo = { ...peer.readInfo, consistency: 'local', stalenessMs }
      const r = await app.request('/v1/collections/docs/points/a?consistency=local')
      return r.headers.get('flotilla-staleness-ms')
    }
    peer.points.set('a', { id: 'a', vector: new Float32Array([1, 2, 3]), metadata: null })
    // Rounded down, the header would claim more freshness than the peer proved.
    expect(await header(40.126)).toBe('41')
    expect(await header(7)).toBe('7')
    expect(await header(null)).toBe('unbounded')
  })

  it('lists, adds and removes members and transfers leadership', async () => {
    expect((await read(await app.request('/v1/members'))).members).toEqual([
      { id: 'fake-peer', kind: 'voter' },
    ])
    const r = await app.request('/v1/members', json('POST', { id: 'p4', as: 'witness' }, auth))
    expect(await read(r)).toEqual({ index: 20 })
    expect(peer.calls.at(-1)).toEqual({ op: 'addMember', args: ['p4', { as: 'witness' }] })
    await app.request('/v1/members/p4', { method: 'DELETE', headers: auth })
    expect(peer.calls.at(-1)).toEqual({ op: 'removeMember', args: ['p4'] })
    await app.request('/v1/leader/transfer', { method: 'POST', headers: auth })
    expect(peer.calls.at(-1)).toEqual({ op: 'transferLeadership', args: [undefined] })
  })
})

describe('errors map to statuses with a stable code', () => {
  const cases: Array<[string, Error, number, Record<string, unknown>]> = [
    [
      // The body's `points`, not the command's `items`: the field names what the caller sent.
      'wrong dimensions',
      new DimensionMismatchError('items[0].vector', 3, 2),
      400,
      { field: 'points[0].vector', message: 'points[0].vector: expected 3 dimensions, got 2' },
    ],
    [
      'unknown collection',
      new UnknownCollectionError('collection', 'nope'),
      404,
      { code: 'ERR_UNKNOWN_COLLECTION' },
    ],
    ['no quorum', new PeerError('ERR_NO_LEADER', 'no leader'), 503, { leader: 'fake-peer' }],
    ['not leader', new PeerError('ERR_NOT_LEADER', 'ask p2', { leader: 'p2' }), 503, { leader: 'p2' }],
    ['timeout', new PeerError('ERR_TIMEOUT', 'too slow'), 504, { code: 'ERR_TIMEOUT' }],
    [
      'back-pressure',
      new PeerError('ERR_BACKPRESSURE', 'busy', { retryAfterMs: 1500 }),
      429,
      { retryAfterMs: 1500 },
    ],
    ['stale', new PeerError('ERR_STALE', 'stale', { stalenessMs: 900 }), 503, { stalenessMs: 900 }],
    ['witness', new PeerError('ERR_WITNESS', 'witness'), 409, { code: 'ERR_WITNESS' }],
    ['anything else', new TypeError('boom'), 500, { code: 'ERR_INTERNAL' }],
  ]
  for (const [what, error, status, fields] of cases) {
    it(`${what} → ${status}`, async () => {
      peer.fail = error
      const r = await app.request('/v1/collections/docs/points', json('POST', { points: [] }, auth))
      expect(r.status).toBe(status)
      expect((await read(r)).error).toMatchObject(fields)
      if (status === 429) expect(r.headers.get('retry-after')).toBe('2')
    })
  }

  it('refuses malformed JSON, a bad shape and bad query parameters with 400 naming the field', async () => {
    const bad: Array<[string, RequestInit, string]> = [
      ['/v1/collections/docs/points', json('POST', '{"points": [', auth), 'body'],
      [
        '/v1/collections/docs/points',
        json('POST', { points: [{ id: 'a', vector: [1, 'x'] }] }, auth),
        'points[0].vector[1]',
      ],
      ['/v1/collections/docs/points', json('POST', { points: [{ vector: [1] }] }, auth), 'points[0].id'],
      [
        '/v1/collections/docs/points',
        json('POST', { points: [], x: 1 }, { ...auth, 'flotilla-seq': '1' }),
        'flotilla-client-id',
      ],
      ['/v1/collections/docs/search', json('POST', { vector: [1], k: 0 }), 'k'],
      ['/v1/collections/docs/search?consistency=strong', json('POST', { vector: [1] }), 'consistency'],
      ['/v1/collections/docs/points/a?minIndex=-1', { method: 'GET' }, 'minIndex'],
      ['/v1/collections/docs/points/a?consistency=bounded', { method: 'GET' }, 'maxStalenessMs'],
      ['/v1/members', json('POST', { id: 'p4', as: 'king' }, auth), 'as'],
    ]
    for (const [path, init, field] of bad) {
      const r = await app.request(path, init)
      expect(r.status, path).toBe(400)
      expect((await read(r)).error.field, path).toBe(field)
    }
    expect(peer.calls).toEqual([])
  })

  it('answers 413 past the body limit, before the peer sees anything', async () => {
    const big = { points: [{ id: 'a', vector: new Array(2000).fill(0.5) }] }
    const r = await app.request('/v1/collections/docs/points', json('POST', big, auth))
    expect(r.status).toBe(413)
    expect((await read(r)).error.code).toBe('ERR_BODY_TOO_LARGE')
    expect(peer.calls).toEqual([])
  })

  it('requires the bearer token on writes and admin routes, not on reads', async () => {
    for (const [path, init] of [
      ['/v1/collections/docs', json('PUT', { dimensions: 3, metric: 'cos' })],
      ['/v1/collections/docs', { method: 'DELETE' }],
      ['/v1/collections/docs/points', json('POST', { points: [] }, { authorization: 'Bearer wrong' })],
      ['/v1/members', json('POST', { id: 'x' })],
      ['/v1/leader/transfer', { method: 'POST' }],
    ] as Array<[string, RequestInit]>) {
      const r = await app.request(path, init)
      expect(r.status, path).toBe(401)
      expect((await read(r)).error.code).toBe('ERR_UNAUTHORIZED')
    }
    expect(peer.calls).toEqual([])
    expect((await app.request('/v1/collections/docs/search', json('POST', { vector: [1] }))).status).toBe(200)
    expect((await app.request('/v1/status')).status).toBe(200)
  })

  it('answers 404 with a code for an unknown route', async () => {
    const r = await app.request('/v2/nothing')
    expect(r.status).toBe(404)
    expect((await read(r)).error.code).toBe('ERR_NOT_FOUND')
  })
})

describe('health, readiness and metrics', () => {
  it('is ready with a leader and caught up, not otherwise', async () => {
    expect((await app.request('/healthz')).status).toBe(200)
    expect((await app.request('/readyz')).status).toBe(200)
    peer.statusValue = { ...peer.statusValue, leader: null }
    expect((await app.request('/readyz')).status).toBe(503)
    peer.statusValue = { ...peer.statusValue, leader: 'x', commit: 5000, applied: 10 }
    expect((await app.request('/readyz')).status).toBe(503)
  })

  it('exports the peer metrics and per-route request metrics in Prometheus text', async () => {
    await app.request('/v1/status')
    const text = await (await app.request('/metrics')).text()
    for (const line of [
      'flotilla_raft_term 3',
      'flotilla_raft_role{role="leader"} 1',
      'flotilla_raft_role{role="follower"} 0',
      'flotilla_raft_commit_index 10',
      'flotilla_raft_applied_index 9',
      'flotilla_replication_lag_entries{peer="other"} 2',
      'flotilla_proposals_total{result="ERR_TIMEOUT"} 1',
      'flotilla_reads_total{consistency="linearizable",result="ok"} 3',
      'flotilla_messages_total{direction="sent",type="Append"} 7',
      'flotilla_fsync_seconds_bucket{le="0.01"} 3',
      'flotilla_fsync_seconds_bucket{le="+Inf"} 4',
      'flotilla_apply_seconds_count 4',
      'flotilla_http_requests_total{method="GET",route="/v1/status",status="200"} 1',
    ]) {
      expect(text).toContain(line)
    }
  })
})
