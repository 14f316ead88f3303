import { describe, expect, it } from 'vitest'
import { type Command, createStateMachine, encodeCommand } from '../../src/state/index.js'
import { applyAll, vec } from './helpers.js'

describe('idempotence', () => {
  it('an index at or below lastApplied is ignored', async () => {
    const sm = await createStateMachine({ engine: 'wasm' })
    const create = encodeCommand({ op: 'create', name: 'c', options: { dimensions: 2, metric: 'l2sq' } })
    const up = encodeCommand({ op: 'upsert', collection: 'c', items: [{ id: 'a', vector: vec(1, 1) }] })
    sm.apply(1, create)
    sm.apply(2, up)
    const again = sm.apply(2, up)
    expect(again).toMatchObject({ ok: false, error: { code: 'ERR_ALREADY_APPLIED' } })
    expect(sm.apply(1, create)).toMatchObject({ ok: false })
    expect(sm.lastApplied).toBe(2)
    expect(sm.collections.get('c')!.nextKey).toBe(1)
  })

  it('two machines applying the same entries end identical', async () => {
    const a = await createStateMachine({ engine: 'wasm' })
    const b = await createStateMachine({ engine: 'native' })
    const cmds: Command[] = [
      { op: 'create', name: 'c', options: { dimensions: 2, metric: 'l2sq' } },
      {
        op: 'upsert',
        collection: 'c',
        items: [
          { id: 'a', vector: vec(1, 1) },
          { id: 'b', vector: vec(2, 2) },
        ],
      },
      { op: 'delete', collection: 'c', ids: ['a'] },
      { op: 'upsert', collection: 'c', items: [{ id: 'a', vector: vec(3, 3), metadata: { x: 1 } }] },
    ]
    const ra = applyAll(a, cmds)
    const rb = applyAll(b, cmds)
    expect(ra).toEqual(rb)
    expect([...a.collections.get('c')!.ids]).toEqual([...b.collections.get('c')!.ids])
    expect(a.search('c', vec(3, 3), { k: 2 })).toEqual(b.search('c', vec(3, 3), { k: 2 }))
  })
})

describe('client sessions', () => {
  it('a retried command applies once and returns the first result', async () => {
    const sm = await createStateMachine({ engine: 'wasm' })
    applyAll(sm, [{ op: 'create', name: 'c', options: { dimensions: 2, metric: 'l2sq' } }])
    const cmd = {
      op: 'upsert' as const,
      collection: 'c',
      items: [{ id: 'a', vector: vec(1, 1) }],
      session: { client: 'alice', seq: 1 },
    }
    const first = sm.apply(2, encodeCommand(cmd))
    // The retry lands at a later index (the client resent after a leader change).
    const retry = sm.apply(3, encodeCommand(cmd))
    expect(first).toEqual({ index: 2, ok: true, value: { upserted: 1 } })
    expect(retry).toEqual(first)
    expect(sm.collections.get('c')!.nextKey).toBe(1)
    expect(sm.lastApplied).toBe(3)
  })

  it('a rejected command holds no session (its retry is checked again); an older seq is refused; other clients are independent', async () => {
    const sm = await createStateMachine({ engine: 'wasm' })
    applyAll(sm, [{ op: 'create', name: 'c', options: { dimensions: 2, metric: 'l2sq' } }])
    const bad = { op: 'delete' as const, collection: 'zzz', ids: ['a'], session: { client: 'bob', seq: 5 } }
    const first = sm.apply(2, encodeCommand(bad))
    expect(first).toMatchObject({ ok: false, error: { code: 'ERR_UNKNOWN_COLLECTION' } })
    expect(sm.sessions.get('bob')).toBeUndefined()
    expect(sm.apply(3, encodeCommand(bad))).toEqual({ ...first, index: 3 })
    // The same seq, now valid, applies and takes the session.
    expect(sm.apply(4, encodeCommand({ ...bad, collection: 'c' }))).toMatchObject({ ok: true })
    const old = sm.apply(5, encodeCommand({ ...bad, collection: 'c', session: { client: 'bob', seq: 4 } }))
    expect(old).toMatchObject({ ok: false, error: { code: 'ERR_STALE_SESSION', field: 'session.seq' } })
    const other = sm.apply(
      6,
      encodeCommand({
        op: 'upsert',
        collection: 'c',
        items: [{ id: 'x', vector: vec(0, 1) }],
        session: { client: 'carol', seq: 1 },
      }),
    )
    expect(other).toMatchObject({ ok: true, value: { upserted: 1 } })
    const next = sm.apply(7, encodeCommand({ ...bad, collection: 'c', session: { client: 'bob', seq: 6 } }))
    expect(next).toMatchObject({ ok: true, value: { deleted: 0 } })
  })
})
