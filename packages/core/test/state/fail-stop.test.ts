import { describe, expect, it } from 'vitest'
import {
  type Command,
  createStateMachine,
  encodeCommand,
  FailStopError,
  restoreSnapshot,
  type StateMachine,
  stateDigest,
  takeSnapshot,
} from '../../src/state/index.js'
import { loadUsearchWasm, type VectorIndex } from '../../src/vector/index.js'
import { applyAll, vec } from './helpers.js'

const setup: Command[] = [
  { op: 'create', name: 'c', options: { dimensions: 3, metric: 'l2sq' } },
  {
    op: 'upsert',
    collection: 'c',
    items: [
      { id: 'a', vector: vec(1, 0, 0), metadata: { n: 1 } },
      { id: 'b', vector: vec(0, 1, 0), metadata: { n: 2 } },
      { id: 'c', vector: vec(0, 0, 1), metadata: { n: 3 } },
    ],
  },
]

function tables(sm: StateMachine) {
  const c = sm.collections.get('c')!
  return { ids: [...c.ids], items: [...c.items.values()], nextKey: c.nextKey, indexed: c.index.count() }
}

/** Makes the index's `nth` remove throw, as usearch can on memory; returns the undo. */
function failOnRemove(index: VectorIndex, nth: number): () => void {
  const remove = index.remove.bind(index)
  let calls = 0
  index.remove = (key) => {
    if (++calls === nth) throw new Error('usearch: out of memory')
    return remove(key)
  }
  return () => {
    index.remove = remove
  }
}

function applyExpectingStop(sm: StateMachine, index: number, cmd: Command): FailStopError {
  try {
    sm.apply(index, encodeCommand(cmd))
  } catch (err) {
    expect(err).toBeInstanceOf(FailStopError)
    return err as FailStopError
  }
  throw new Error('apply did not stop the machine')
}

describe('fail-stop: a local failure never becomes a result', () => {
  it('the WASM heap running out stops that replica; it recovers from a healthy replica’s snapshot', async () => {
    const healthy = await createStateMachine({ engine: 'native' })
    const starved = await createStateMachine({ engine: 'wasm' })
    applyAll(healthy, setup)
    applyAll(starved, setup)
    const write: Command = {
      op: 'upsert',
      collection: 'c',
      items: Array.from({ length: 40 }, (_, i) => ({ id: `n${i}`, vector: vec(i, 1, 2) })),
      session: { client: 'app', seq: 1 },
    }
    const before = tables(starved)
    const m = await loadUsearchWasm()
    const malloc = m._malloc
    m._malloc = () => 0 // every allocation JS asks of the heap fails, as on a full 2 GiB heap
    let stop: FailStopError
    try {
      stop = applyExpectingStop(starved, 3, write)
    } finally {
      m._malloc = malloc
    }
    expect(stop.code).toBe('ERR_FAIL_STOP')
    expect(stop.index).toBe(3)
    expect((stop.cause as { code: string }).code).toBe('ERR_VECTOR_OUT_OF_MEMORY')
    // Nothing of the failed entry was recorded: no session, no lastApplied, no table change.
    expect(starved.sessions.get('app')).toBeUndefined()
    expect(starved.lastApplied).toBe(2)
    expect(tables(starved)).toEqual(before)
    expect(() => starved.apply(4, new Uint8Array())).toThrow(FailStopError)

    expect(healthy.apply(3, encodeCommand(write))).toMatchObject({ ok: true, value: { upserted: 40 } })
    const recovered = await restoreSnapshot(takeSnapshot(healthy), { engine: 'wasm' })
    expect(stateDigest(recovered)).toBe(stateDigest(healthy))
    // The retry after recovery is recognised, not applied twice.
    expect(recovered.apply(4, encodeCommand(write))).toEqual(healthy.sessions.get('app')!.result)
  })

  for (const engine of ['native', 'wasm'] as const) {
    it(`${engine}: a throwing remove during upsert-replace leaves tables and index as they were`, async () => {
      const sm = await createStateMachine({ engine })
      applyAll(sm, setup)
      const before = tables(sm)
      const index = sm.collections.get('c')!.index
      // The second replaced key fails, after the first was removed.
      const restore = failOnRemove(index, 2)
      const stop = applyExpectingStop(sm, 3, {
        op: 'upsert',
        collection: 'c',
        items: [
          { id: 'a', vector: vec(5, 5, 5) },
          { id: 'b', vector: vec(6, 6, 6) },
          { id: 'z', vector: vec(7, 7, 7) },
        ],
      })
      restore()
      expect((stop.cause as Error).message).toContain('out of memory')
      expect(tables(sm)).toEqual(before)
      // The index holds exactly the table's keys again: new keys gone, the removed one back.
      for (const key of sm.collections.get('c')!.items.keys()) expect(index.contains(key)).toBe(true)
      for (const key of [3, 4, 5]) expect(index.contains(key)).toBe(false)
    })

    it(`${engine}: a throwing remove during a batch delete changes no table`, async () => {
      const sm = await createStateMachine({ engine })
      applyAll(sm, setup)
      const before = tables(sm)
      const index = sm.collections.get('c')!.index
      const restore = failOnRemove(index, 3)
      applyExpectingStop(sm, 3, { op: 'delete', collection: 'c', ids: ['a', 'b', 'c'] })
      restore()
      expect(tables(sm)).toEqual(before)
      for (const key of [0, 1, 2]) expect(index.contains(key)).toBe(true)
      expect(() => sm.get('c', 'a')).toThrow(FailStopError)
    })
  }
})
