import { afterEach, describe, expect, it } from 'vitest'
import type { Message } from '../../src/raft/messages.js'
import { ReadOnlyQueue, readKey } from '../../src/raft/read-only.js'
import { encodeKvWrite, KvStore } from '../../src/sim/kv.js'
import { runSeed } from '../../src/sim/run-seed.js'

// Issue 17's bug 3b: a leader that merged a read whose context was already queued into the
// older read answered it at the older read's index. Raft has no broken-rule switch for it, so
// this test brings the bug back from outside, through ReadOnlyQueue's own methods: a request
// whose context is still queued is queued with the older read's index.

const realAdd = ReadOnlyQueue.prototype.add
const realAdvance = ReadOnlyQueue.prototype.advance
const realClear = ReadOnlyQueue.prototype.clear

/** Per queue: the oldest read still queued for each request context, and its index. */
const queued = new WeakMap<ReadOnlyQueue, Map<string, { index: number; request: Message }>>()

function plantMergedContexts(): void {
  ReadOnlyQueue.prototype.add = function (this: ReadOnlyQueue, index: number, request: Message) {
    const byContext = queued.get(this) ?? new Map<string, { index: number; request: Message }>()
    queued.set(this, byContext)
    const key = readKey(request.context ?? new Uint8Array(0))
    const older = byContext.get(key)
    if (older) return realAdd.call(this, older.index, request)
    byContext.set(key, { index, request })
    return realAdd.call(this, index, request)
  }
  ReadOnlyQueue.prototype.advance = function (this: ReadOnlyQueue, ctx: Uint8Array) {
    const done = realAdvance.call(this, ctx)
    const byContext = queued.get(this)
    for (const read of done) {
      const key = readKey(read.request.context ?? new Uint8Array(0))
      if (byContext?.get(key)?.request === read.request) byContext.delete(key)
    }
    return done
  }
  ReadOnlyQueue.prototype.clear = function (this: ReadOnlyQueue) {
    queued.delete(this)
    realClear.call(this)
  }
}

afterEach(() => {
  ReadOnlyQueue.prototype.add = realAdd
  ReadOnlyQueue.prototype.advance = realAdvance
  ReadOnlyQueue.prototype.clear = realClear
})

// Of seeds 1..40 of the profile, this plant is caught by 11, 17, 18, 28 and 35; reverting the
// fix in read-only.ts (merged requests answered together) by 3, 5, 11, 13, 18, 35 and 38.
const CATCHING = [11, 18]

describe('clashingReads: reads of different peers with one context, writes completing between them', () => {
  it('reaches the situation and stays clean with each read answered at its own index', () => {
    let clashing = 0
    for (const seed of [1, ...CATCHING]) {
      const r = runSeed(seed, { profile: 'clashingReads' })
      expect(r.violations, `seed ${seed}`).toEqual([])
      clashing += r.stats?.clashingReads ?? 0
    }
    expect(clashing).toBeGreaterThan(0)
  })

  it('catches a leader that answers a read at the index of an older read with its context', () => {
    plantMergedContexts()
    for (const seed of CATCHING) {
      const r = runSeed(seed, { profile: 'clashingReads' })
      expect(r.violations.join('\n'), `seed ${seed}`).toMatch(/linearizability/)
    }
  })
})

describe("the Raft-only loop's store serves a read as of its read index", () => {
  const put = (kv: KvStore, index: number, key: string, value: string) =>
    kv.apply(index, encodeKvWrite({ op: value, key, value }))

  it('answers with the value the key had at that index', () => {
    const kv = new KvStore()
    put(kv, 1, 'x', 'a')
    put(kv, 2, 'y', 'b')
    put(kv, 4, 'x', 'c')
    expect(kv.getAt('x', 1)?.value).toBe('a')
    expect(kv.getAt('x', 3)?.value).toBe('a')
    expect(kv.getAt('x', 4)?.value).toBe('c')
    expect(kv.getAt('y', 1)).toBeUndefined()
    expect(kv.getAt('x', 9)?.value).toBe('c')
  })

  it('below a restored snapshot, where no history is left, answers with the current value', () => {
    const kv = new KvStore()
    put(kv, 1, 'x', 'a')
    put(kv, 3, 'x', 'b')
    const restored = KvStore.restore(kv.serialize('p1'))
    put(restored, 5, 'x', 'c')
    expect(restored.getAt('x', 2)?.value).toBe('c')
    expect(restored.getAt('x', 3)?.value).toBe('b')
    expect(restored.getAt('x', 4)?.value).toBe('b')
    expect(restored.getAt('x', 5)?.value).toBe('c')
  })
})
