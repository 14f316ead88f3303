import { describe, expect, it } from 'vitest'
import { createStateMachine, encodeCommand, type Metadata, stateDigest } from '../../src/state/index.js'
import { vec } from './helpers.js'

describe('callers never hold replicated state', () => {
  for (const engine of ['native', 'wasm'] as const)
    it(`${engine}: get(), search hits and apply(command) share no object with the caller`, async () => {
      const sm = await createStateMachine({ engine })
      sm.apply(1, { op: 'create', name: 'c', options: { dimensions: 2, metric: 'l2sq' } })
      const metadata: Metadata = { kind: 'k', tags: ['a'], nested: { n: 1 }, bytes: new Uint8Array([1]) }
      const vector = vec(1, 2)
      sm.apply(2, { op: 'upsert', collection: 'c', items: [{ id: 'x', vector, metadata }] })
      const digest = stateDigest(sm)

      // The caller's own objects, changed after apply.
      vector[0] = 99
      ;(metadata.tags as string[]).push('b')
      ;(metadata.nested as { n: number }).n = 2
      ;(metadata.bytes as Uint8Array)[0] = 9

      const got = sm.get('c', 'x')!
      got.vector[1] = 42
      ;((got.metadata as Metadata).tags as string[]).push('c')
      ;((got.metadata as Metadata).bytes as Uint8Array)[0] = 7

      for (const hits of [
        sm.search('c', vec(1, 2), { k: 1 }),
        sm.search('c', vec(1, 2), { k: 1, filter: { kind: 'k' } }),
      ]) {
        const meta = hits[0].metadata as Metadata
        ;(meta.nested as { n: number }).n = 3
        meta.added = true
      }

      expect(stateDigest(sm)).toBe(digest)
      expect(sm.get('c', 'x')).toEqual({
        vector: vec(1, 2),
        metadata: { kind: 'k', tags: ['a'], nested: { n: 1 }, bytes: new Uint8Array([1]) },
      })
    })

  it('a result returned by apply is not the one the session table keeps', async () => {
    const sm = await createStateMachine({ engine: 'wasm' })
    sm.apply(1, { op: 'create', name: 'c', options: { dimensions: 2, metric: 'l2sq' } })
    const write = encodeCommand({
      op: 'upsert',
      collection: 'c',
      items: [{ id: 'x', vector: vec(1, 2) }],
      session: { client: 'me', seq: 1 },
    })
    const first = sm.apply(2, write) as { value: { upserted: number } }
    first.value.upserted = 99
    const retry = sm.apply(3, write) as { value: { upserted: number } }
    expect(retry.value.upserted).toBe(1)
    retry.value.upserted = 98
    expect(sm.sessions.get('me')!.result).toEqual({ index: 2, ok: true, value: { upserted: 1 } })
  })
})
