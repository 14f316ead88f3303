import { describe, expect, it } from 'vitest'
import {
  createStateMachine,
  FailStopError,
  restoreSnapshot,
  type StateMachine,
  stateDigest,
  takeSnapshot,
} from '../../src/state/index.js'
import { type IndexFactory, loadUsearchWasm } from '../../src/vector/index.js'
import { divergenceStream, replay, tally } from './divergence-stream.js'

const N = 400
const SEEDS = [1, 2, 3]

/** A replica of `engine` that has applied entries[0..upTo). */
async function replicaAt(
  engine: 'native' | 'wasm',
  entries: Uint8Array[],
  upTo: number,
): Promise<StateMachine> {
  const sm = await createStateMachine({ engine })
  expect(replay(sm, entries, 0, upTo).stoppedAt).toBeUndefined()
  return sm
}

/** Native indexes whose `remove` throws on the `nth` call, as usearch can when memory runs out. */
async function throwingRemove(nth: number): Promise<IndexFactory> {
  const make = (await createStateMachine({ engine: 'native' })).make
  let calls = 0
  return Object.assign(
    (options: Parameters<IndexFactory>[0]) => {
      const index = make(options)
      const remove = index.remove.bind(index)
      index.remove = (key) => {
        if (++calls === nth) throw new Error('usearch: failed to allocate memory for remove')
        return remove(key)
      }
      return index
    },
    { engine: 'native' as const },
  )
}

describe('divergence: every replica ends in the same state, or stops', () => {
  const seen: Record<string, number> = {}

  for (const seed of SEEDS)
    it(`seed ${seed}: native, WASM, a mid-stream snapshot, and replicas with local faults agree`, async () => {
      const entries = divergenceStream(seed, N)
      const native = await createStateMachine({ engine: 'native' })
      const wasm = await createStateMachine({ engine: 'wasm' })

      // Native runs to the middle; a snapshot is taken there and read while native goes on.
      const mid = N / 2
      const first = replay(native, entries, 0, mid)
      const stream = takeSnapshot(native, { chunkBytes: 512 })
      const chunks: Uint8Array[] = []
      const rest: typeof first.results = []
      for (let i = mid; i < N; i++) {
        const next = stream.next()
        if (!next.done) chunks.push(next.value)
        rest.push(...replay(native, entries, i, i + 1).results)
      }
      chunks.push(...stream)
      const expected = [...first.results, ...rest]
      const digest = stateDigest(native)

      const w = replay(wasm, entries)
      expect(w.stoppedAt).toBeUndefined()
      expect(w.results).toEqual(expected)
      expect(w.digest).toBe(digest)

      const joined = await restoreSnapshot(chunks, { engine: 'wasm' })
      expect(joined.lastApplied).toBe(mid)
      const j = replay(joined, entries, mid)
      expect(j.results).toEqual(expected.slice(mid))
      expect(j.digest).toBe(digest)

      // A WASM replica whose heap is full at one write stops there, then recovers by snapshot.
      const target = expected.findIndex(
        (r, i) => i > N / 3 && r.ok && r.value !== null && 'upserted' in r.value,
      )
      const starved = await replicaAt('wasm', entries, target)
      const m = await loadUsearchWasm()
      const malloc = m._malloc
      m._malloc = () => 0
      let stop: ReturnType<typeof replay>
      try {
        stop = replay(starved, entries, target, target + 1)
      } finally {
        m._malloc = malloc
      }
      expect(stop.stoppedAt).toBe(target + 1)
      expect(stop.error).toBeInstanceOf(FailStopError)
      expect(stop.error!.message).toMatch(/index \d+: wasm: cannot allocate/)
      expect(() => starved.apply(target + 2, entries[target + 1])).toThrow(FailStopError)
      const healthy = await replicaAt('native', entries, target)
      const recovered = await restoreSnapshot(takeSnapshot(healthy), { engine: 'wasm' })
      const after = replay(recovered, entries, target)
      expect(after.results).toEqual(expected.slice(target))
      expect(after.digest).toBe(digest)

      // A native replica whose remove throws stops at that entry and recovers from a WASM snapshot.
      const faulty = new (native.constructor as typeof StateMachine)(await throwingRemove(5))
      const halted = replay(faulty, entries)
      expect(halted.stoppedAt).toBeDefined()
      expect(halted.error!.message).toMatch(/failed to allocate memory for remove/)
      const stoppedAt = halted.stoppedAt!
      expect(halted.results).toEqual(expected.slice(0, stoppedAt - 1))
      const donor = await replicaAt('wasm', entries, stoppedAt - 1)
      const back = await restoreSnapshot(takeSnapshot(donor, { chunkBytes: 300 }), { engine: 'native' })
      const resumed = replay(back, entries, stoppedAt - 1)
      expect(resumed.results).toEqual(expected.slice(stoppedAt - 1))
      expect(resumed.digest).toBe(digest)

      for (const [code, count] of Object.entries(tally(expected))) seen[code] = (seen[code] ?? 0) + count
    })

  it('the streams exercised every kind of rejection and retry', () => {
    for (const code of [
      'ok',
      'ERR_TOO_DEEP',
      'ERR_NOT_ROUND_TRIP',
      'ERR_OUT_OF_RANGE',
      'ERR_METADATA_TOO_LARGE',
      'ERR_INVALID_ID',
      'ERR_SESSION_REUSED',
      'ERR_STALE_SESSION',
      'ERR_INVALID_COMMAND',
      'ERR_DIMENSION_MISMATCH',
      'ERR_UNKNOWN_COLLECTION',
      'ERR_COLLECTION_EXISTS',
    ])
      expect(seen[code] ?? 0, code).toBeGreaterThan(0)
  })
})
