import { expect, it } from 'vitest'
import { commands } from 'vitest/browser'
import { createStateMachine, FailStopError, restoreSnapshot, takeSnapshot } from '../../src/state/index.js'
import { loadUsearchWasm } from '../../src/vector/index.js'
import type { DivergenceReference } from './divergence-reference.js'
import { divergenceStream, fingerprint, replay, streamFingerprint } from './divergence-stream.js'

declare module 'vitest/browser' {
  interface BrowserCommands {
    divergenceReference(seed: number, n: number, mid: number): Promise<DivergenceReference>
  }
}

const N = 400
const MID = 200

for (const seed of [1, 2])
  it(`seed ${seed}: a WASM replica in Chromium ends where the native one in Node does`, async () => {
    const reference = await commands.divergenceReference(seed, N, MID)
    const entries = divergenceStream(seed, N)
    expect(streamFingerprint(entries)).toBe(reference.stream)

    const page = await createStateMachine()
    expect(page.engine).toBe('wasm')
    const first = replay(page, entries, 0, MID)
    expect(first.digest).toBe(reference.midDigest)
    // A snapshot taken here and read while the page keeps applying.
    const stream = takeSnapshot(page, { chunkBytes: 1024 })
    const head = stream.next().value as Uint8Array
    const second = replay(page, entries, MID)
    expect(fingerprint([...first.results, ...second.results])).toBe(reference.results)
    expect(second.digest).toBe(reference.digest)

    const joined = await restoreSnapshot([head, ...stream])
    const rest = replay(joined, entries, MID)
    expect(fingerprint([...first.results, ...rest.results])).toBe(reference.results)
    expect(rest.digest).toBe(reference.digest)

    // The page's heap fills up at one entry: that replica stops instead of answering ERR_APPLY.
    const starved = await createStateMachine()
    const target = first.results.findIndex(
      (r, i) => i > 50 && r.ok && r.value !== null && 'upserted' in r.value,
    )
    replay(starved, entries, 0, target)
    const m = await loadUsearchWasm()
    const malloc = m._malloc
    m._malloc = () => 0
    try {
      expect(() => starved.apply(target + 1, entries[target])).toThrow(FailStopError)
    } finally {
      m._malloc = malloc
    }
    expect(() => starved.apply(target + 2, entries[target + 1])).toThrow(FailStopError)
  })
