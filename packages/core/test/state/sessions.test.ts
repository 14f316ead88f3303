import { describe, expect, it } from 'vitest'
import {
  type Command,
  createStateMachine,
  encodeCommand,
  restoreSnapshot,
  stateDigest,
  takeSnapshot,
} from '../../src/state/index.js'
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
  it('appliedSession names the session of the entry just applied, rejected or not', async () => {
    const sm = await createStateMachine({ engine: 'wasm' })
    applyAll(sm, [{ op: 'create', name: 'c', options: { dimensions: 2, metric: 'l2sq' } }])
    expect(sm.appliedSession).toBeUndefined()
    const session = { client: 'dave', seq: 1 }
    sm.apply(2, encodeCommand({ op: 'delete', collection: 'zzz', ids: ['a'], session }))
    expect(sm.appliedSession).toEqual(session)
    sm.apply(3, encodeCommand({ op: 'delete', collection: 'c', ids: ['a'] }))
    expect(sm.appliedSession).toBeUndefined()
    sm.apply(4, encodeCommand({ op: 'delete', collection: 'c', ids: ['a'], session }))
    expect(sm.appliedSession).toEqual(session)
    sm.apply(4, encodeCommand({ op: 'delete', collection: 'c', ids: ['a'], session }))
    expect(sm.appliedSession).toBeUndefined()
    sm.apply(5, new Uint8Array([0xff]))
    expect(sm.appliedSession).toBeUndefined()
  })
})

describe('bounded sessions', () => {
  const create = { op: 'create', name: 'c', options: { dimensions: 2, metric: 'l2sq' } } as const
  const write = (client: string, seq: number, x = 1): Command => ({
    op: 'upsert',
    collection: 'c',
    items: [{ id: `${client}-${seq}`, vector: vec(x, 0) }],
    session: { client, seq },
  })

  it('a session expires by log index, the same on a replica restored from a snapshot', async () => {
    const limits = { sessionTtlEntries: 10 }
    const sm = await createStateMachine({ engine: 'wasm', limits })
    sm.apply(1, encodeCommand(create))
    sm.apply(2, encodeCommand(write('old', 1)))
    sm.apply(5, encodeCommand(write('mid', 1)))
    const restored = await restoreSnapshot(takeSnapshot(sm), { engine: 'native', limits })
    for (const replica of [sm, restored]) {
      // Empty entries advance the log too; at index 12 the session last used at 2 is 10 old.
      replica.apply(11, new Uint8Array())
      expect(replica.sessions.get('old')).toBeDefined()
      replica.apply(12, new Uint8Array())
      expect(replica.sessions.get('old')).toBeUndefined()
      expect([...replica.sessions].map(([c]) => c)).toEqual(['mid'])
    }
    expect(stateDigest(restored)).toBe(stateDigest(sm))
  })

  it('a retry refreshes its session; past maxSessions the least recently used goes', async () => {
    const sm = await createStateMachine({ engine: 'wasm', limits: { maxSessions: 3 } })
    applyAll(sm, [create, write('a', 1), write('b', 1), write('c', 1), write('a', 1), write('d', 1)])
    expect([...sm.sessions].map(([c]) => c)).toEqual(['c', 'a', 'd'])
  })

  it('a reused seq with another command is refused, not answered with the old result', async () => {
    const sm = await createStateMachine({ engine: 'wasm' })
    applyAll(sm, [create])
    const first = sm.apply(2, encodeCommand(write('r', 1, 1)))
    expect(sm.apply(3, encodeCommand(write('r', 1, 1)))).toEqual(first)
    const reuse = sm.apply(
      4,
      encodeCommand({ ...write('r', 1, 2), items: [{ id: 'other', vector: vec(2, 0) }] } as Command),
    )
    expect(reuse).toMatchObject({ ok: false, error: { code: 'ERR_SESSION_REUSED', field: 'session.seq' } })
    expect(sm.get('c', 'other')).toBeUndefined()
  })

  it('an invalid session is not recorded, whatever its size', async () => {
    const sm = await createStateMachine({ engine: 'wasm' })
    applyAll(sm, [create])
    const huge = sm.apply(2, encodeCommand(write('x'.repeat(10_000), 1)))
    expect(huge).toMatchObject({ ok: false, error: { code: 'ERR_INVALID_COMMAND', field: 'session.client' } })
    expect(sm.sessions.size).toBe(0)
  })

  it('the session table is split across snapshot chunks', async () => {
    const sm = await createStateMachine({ engine: 'wasm' })
    applyAll(sm, [create])
    for (let i = 0; i < 300; i++) sm.apply(sm.lastApplied + 1, encodeCommand(write(`client-${i}`, 1)))
    const chunks = [...takeSnapshot(sm, { chunkBytes: 2048 })]
    for (const c of chunks) expect(c.length).toBeLessThan(2048 + 1024)
    const restored = await restoreSnapshot(chunks, { engine: 'wasm' })
    expect([...restored.sessions]).toEqual([...sm.sessions])
    expect(stateDigest(restored)).toBe(stateDigest(sm))
  })
})
