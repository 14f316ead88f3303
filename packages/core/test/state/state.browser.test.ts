import { expect, it } from 'vitest'
import { createStateMachine, encodeCommand, restoreSnapshot, takeSnapshot } from '../../src/state/index.js'
import { clustered, row } from '../vector/data.js'

it('the state machine runs on a Chromium page (WASM) and restores its own snapshot', async () => {
  const sm = await createStateMachine()
  expect(sm.engine).toBe('wasm')
  const data = clustered(300, 8, 51)
  sm.apply(1, encodeCommand({ op: 'create', name: 'c', options: { dimensions: 8, metric: 'cos' } }))
  const r = sm.apply(
    2,
    encodeCommand({
      op: 'upsert',
      collection: 'c',
      items: Array.from({ length: 300 }, (_, i) => ({
        id: `i${i}`,
        vector: Float32Array.from(row(data, i, 8)),
        metadata: { i },
      })),
    }),
  )
  expect(r).toEqual({ index: 2, ok: true, value: { upserted: 300 } })
  const restored = await restoreSnapshot(takeSnapshot(sm, { chunkBytes: 2048 }))
  const q = row(data, 7, 8)
  expect(restored.search('c', q, { k: 5, filter: { i: { $lt: 100 } } })).toEqual(
    sm.search('c', q, { k: 5, filter: { i: { $lt: 100 } } }),
  )
  expect(restored.search('c', q, { k: 1 })[0].id).toBe('i7')
})
