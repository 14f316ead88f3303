import { describe, expect, it } from 'vitest'
import { decodeCbor } from '../../src/codec/index.js'
import {
  type Command,
  encodeCommand,
  restoreSnapshot,
  SnapshotError,
  stateDigest,
  takeSnapshot,
} from '../../src/state/index.js'
import { type Chunk, encodeFrame } from '../../src/state/snapshot-frame.js'
import { rng } from '../vector/data.js'
import { applyAll, machineWithDocs, vec } from './helpers.js'

/** Decodes, edits and re-frames chunks with valid checksums: what a buggy peer could send. */
function rewrite(chunks: Uint8Array[], edit: (c: Chunk, n: number) => Chunk | undefined): Uint8Array[] {
  const frames = chunks.map((raw) => decodeCbor<{ at: number; b: Uint8Array }>(raw))
  const bodies = frames.map((f) => decodeCbor<Chunk>(f.b))
  const kept = bodies.map((c, n) => edit(structuredClone(c), n)).filter((c) => c !== undefined)
  const at = kept[0].t === 'head' ? kept[0].lastApplied : frames[0].at
  return kept.map((c, n) => encodeFrame(c, n, at))
}

async function refused(chunks: Uint8Array[], engine: 'native' | 'wasm', message?: RegExp) {
  const error = await restoreSnapshot(chunks, { engine }).then(
    () => undefined,
    (err: unknown) => err,
  )
  expect(error).toBeInstanceOf(SnapshotError)
  if (message) expect((error as Error).message).toMatch(message)
}

describe('snapshots are taken when asked', () => {
  for (const engine of ['native', 'wasm'] as const)
    it(`${engine}: entries applied while chunks are read do not leak into the snapshot`, async () => {
      const sm = await machineWithDocs(engine, 100, 4)
      const reference = await machineWithDocs(engine, 100, 4)
      const stream = takeSnapshot(sm, { chunkBytes: 256 })
      const first = stream.next().value as Uint8Array
      const later: Command[] = [
        { op: 'upsert', collection: 'docs', items: [{ id: 'new', vector: vec(1, 2, 3, 4) }] },
        {
          op: 'upsert',
          collection: 'docs',
          items: [{ id: 'doc-5', vector: vec(4, 3, 2, 1), metadata: { x: 1 } }],
        },
        { op: 'update', collection: 'docs', id: 'doc-6', metadata: { changed: true } },
        { op: 'delete', collection: 'docs', ids: ['doc-7'] },
        { op: 'compact', collection: 'docs' },
        { op: 'create', name: 'late', options: { dimensions: 2, metric: 'ip' } },
        { op: 'drop', name: 'docs', session: { client: 's', seq: 1 } },
      ]
      expect(applyAll(sm, later).every((r) => r.ok)).toBe(true)
      const restored = await restoreSnapshot([first, ...stream], { engine })
      expect(restored.lastApplied).toBe(2)
      expect(stateDigest(restored)).toBe(stateDigest(reference))
    })
})

describe('snapshots are checked before they replace anything', () => {
  for (const engine of ['native', 'wasm'] as const)
    it(`${engine}: random bit flips anywhere are refused, never loaded`, async () => {
      const sm = await machineWithDocs(engine, 200, 8)
      const chunks = [...takeSnapshot(sm, { chunkBytes: 4096 })]
      const r = rng(7)
      for (let trial = 0; trial < 40; trial++) {
        const n = Math.floor(r() * chunks.length)
        const bad = chunks.map((c) => new Uint8Array(c)) // a copy: a Buffer's slice() is a view
        const at = Math.floor(r() * bad[n].length)
        bad[n][at] ^= 1 << Math.floor(r() * 8)
        await refused(bad, engine)
      }
      // Flips inside the serialized index bytes, specifically.
      const indexChunks = chunks.flatMap((c, n) => (decodeCbor<{ t: string }>(c).t === 'index' ? [n] : []))
      expect(indexChunks.length).toBeGreaterThan(2)
      for (const n of indexChunks) {
        const bad = chunks.slice()
        bad[n] = new Uint8Array(chunks[n])
        bad[n][bad[n].length - 10] ^= 0x40
        await refused(bad, engine, /checksum/)
      }
    })

  it('a lowered nextKey is refused (it would make every later upsert collide)', async () => {
    const sm = await machineWithDocs('wasm', 50, 4)
    const chunks = [...takeSnapshot(sm)]
    await refused(
      rewrite(chunks, (c) => (c.t === 'coll' ? { ...c, nextKey: 10 } : c)),
      'wasm',
      /nextKey|key 10/,
    )
  })

  it('tables that disagree with each other or with the index are refused', async () => {
    const sm = await machineWithDocs('wasm', 50, 4)
    applyAll(sm, [
      {
        op: 'upsert',
        collection: 'docs',
        items: [{ id: 'x', vector: vec(1, 1, 1, 1) }],
        session: { client: 'c', seq: 1 },
      },
    ])
    const other = await machineWithDocs('wasm', 40, 4)
    const otherIndex = [...takeSnapshot(other)].filter((c) => decodeCbor<{ t: string }>(c).t === 'index')
    const chunks = [...takeSnapshot(sm)]
    const cases: [string, (c: Chunk) => Chunk | undefined, RegExp][] = [
      [
        'duplicate id',
        (c) => (c.t === 'items' ? { ...c, ids: c.ids.map((id, i) => (i === 3 ? c.ids[2] : id)) } : c),
        /twice/,
      ],
      ['keys out of order', (c) => (c.t === 'items' ? { ...c, keys: [...c.keys].reverse() } : c), /key/],
      [
        'fewer items than announced',
        (c) =>
          c.t === 'items'
            ? {
                ...c,
                ids: c.ids.slice(1),
                keys: c.keys.slice(1),
                metadata: c.metadata.slice(1),
                vectors: c.vectors.slice(16),
              }
            : c,
        /items/,
      ],
      [
        'bad options',
        (c) => (c.t === 'coll' ? { ...c, options: { ...c.options, metric: 'hamming' as never } } : c),
        /metric/,
      ],
      [
        'a vector out of range',
        (c) =>
          c.t === 'coll'
            ? { ...c, options: { ...c.options, quantization: 'f16' } }
            : c.t === 'items'
              ? { ...c, vectors: new Uint8Array(new Float32Array(c.vectors.length / 4).fill(1e6).buffer) }
              : c,
        /range/,
      ],
      [
        'a session from the future',
        (c) => (c.t === 'sessions' ? { ...c, rows: c.rows.map(([k, r]) => [k, { ...r, index: 99 }]) } : c),
        /session/,
      ],
      ['lastApplied changed', (c) => (c.t === 'head' ? { ...c, lastApplied: 1 } : c), /session/],
      ['a missing session chunk', (c) => (c.t === 'sessions' ? undefined : c), /session/],
    ]
    for (const [what, edit, message] of cases) {
      expect(what).toBeTruthy()
      await refused(rewrite(chunks, edit), 'wasm', message)
    }
    // An index taken from another state, framed with valid checksums.
    let i = 0
    const swapped = rewrite(chunks, (c) =>
      c.t === 'index' ? decodeCbor<Chunk>(decodeCbor<{ b: Uint8Array }>(otherIndex[i++]).b) : c,
    )
    await refused(swapped, 'wasm', /index/)
    // Unchanged, it restores.
    expect(
      stateDigest(
        await restoreSnapshot(
          rewrite(chunks, (c) => c),
          { engine: 'wasm' },
        ),
      ),
    ).toBe(stateDigest(sm))
  })

  it('chunks from two snapshots cannot be mixed', async () => {
    const sm = await machineWithDocs('wasm', 30, 4)
    const a = [...takeSnapshot(sm, { chunkBytes: 512 })]
    sm.apply(3, encodeCommand({ op: 'update', collection: 'docs', id: 'doc-1', metadata: { v: 2 } }))
    const b = [...takeSnapshot(sm, { chunkBytes: 512 })]
    await refused([...a.slice(0, 3), ...b.slice(3)], 'wasm', /belongs to the snapshot/)
  })
})
