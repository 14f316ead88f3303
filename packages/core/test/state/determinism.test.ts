import { describe, expect, it } from 'vitest'
import {
  type Command,
  createStateMachine,
  encodeCommand,
  restoreSnapshot,
  type StateMachine,
  takeSnapshot,
} from '../../src/state/index.js'
import { rng } from '../vector/data.js'

/** A seeded stream of commands, valid and invalid, over a few collections and ids. */
function commands(seed: number, n: number): Command[] {
  const r = rng(seed)
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)]
  const names = ['a', 'b', 'c']
  const ids = Array.from({ length: 30 }, (_, i) => `id${i}`)
  const dims: Record<string, number> = { a: 4, b: 4, c: 6 }
  const vector = (d: number) => Float32Array.from({ length: d }, () => r() * 2 - 1)
  const out: Command[] = []
  for (let i = 0; i < n; i++) {
    const name = pick(names)
    const roll = r()
    let cmd: Command
    if (roll < 0.08)
      cmd = {
        op: 'create',
        name,
        options: { dimensions: dims[name], metric: pick(['cos', 'l2sq'] as const) },
      }
    else if (roll < 0.1) cmd = { op: 'drop', name }
    else if (roll < 0.6)
      cmd = {
        op: 'upsert',
        collection: name,
        items: Array.from({ length: 1 + Math.floor(r() * 4) }, (_, j) => ({
          id: `${pick(ids)}-${j}`,
          // Now and then a vector of the wrong size, rejected at apply.
          vector: vector(r() < 0.05 ? 3 : dims[name]),
          metadata: { n: Math.floor(r() * 100) },
        })),
      }
    else if (roll < 0.75) cmd = { op: 'update', collection: name, id: `${pick(ids)}-0`, metadata: { n: -1 } }
    else if (roll < 0.95) cmd = { op: 'delete', collection: name, ids: [`${pick(ids)}-0`, `${pick(ids)}-1`] }
    else cmd = { op: 'compact', collection: name }
    if (r() < 0.3) cmd.session = { client: pick(['x', 'y']), seq: 1 + Math.floor(r() * (i + 1)) }
    out.push(cmd)
  }
  return out
}

function fingerprint(sm: StateMachine) {
  return [...sm.collections].map(([name, c]) => ({
    name,
    nextKey: c.nextKey,
    ids: [...c.ids],
    metadata: [...c.items.values()].map((it) => it.metadata),
    count: c.index.count(),
  }))
}

describe('determinism', () => {
  for (const seed of [1, 2, 3]) {
    it(`seed ${seed}: native, WASM and a mid-way snapshot restore reach the same state and answers`, async () => {
      const cmds = commands(seed, 300).map((c) => encodeCommand(c))
      const native = await createStateMachine({ engine: 'native' })
      const wasm = await createStateMachine({ engine: 'wasm' })
      const resultsNative = cmds.map((c, i) => native.apply(i + 1, c))
      const resultsWasm = cmds.map((c, i) => wasm.apply(i + 1, c))
      expect(resultsWasm).toEqual(resultsNative)
      expect(resultsNative.some((r) => !r.ok)).toBe(true)
      expect(resultsNative.filter((r) => r.ok).length).toBeGreaterThan(100)

      // A replica that joins from a snapshot at entry 150 (taken by native, loaded by WASM).
      const early = await createStateMachine({ engine: 'native' })
      for (const [i, c] of cmds.slice(0, 150).entries()) early.apply(i + 1, c)
      const joined = await restoreSnapshot(takeSnapshot(early, { chunkBytes: 300 }), { engine: 'wasm' })
      const resultsJoined = cmds.slice(150).map((c, i) => joined.apply(151 + i, c))
      expect(resultsJoined).toEqual(resultsNative.slice(150))

      expect(fingerprint(wasm)).toEqual(fingerprint(native))
      expect(fingerprint(joined)).toEqual(fingerprint(native))
      for (const [name, c] of native.collections) {
        const q = new Float32Array(c.options.dimensions).fill(0.3)
        const ids = (sm: StateMachine) => sm.search(name, q, { k: 5 }).map((h) => h.id)
        expect(ids(wasm)).toEqual(ids(native))
        expect(ids(joined)).toEqual(ids(native))
      }
    })
  }
})
