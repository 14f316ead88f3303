import { encodeCbor } from '../codec/index.js'
import { hash64 } from './hash.js'
import type { StateMachine } from './state-machine.js'

/**
 * A fingerprint of the replicated state: `lastApplied`, sessions, and per collection its
 * options, next key, id table, vectors (bit for bit), metadata and the index's key count.
 * Replicas that applied the same entries have equal digests whatever their engine. The index
 * graph itself is not included: engines lay it out differently in memory.
 */
export function stateDigest(sm: StateMachine): string {
  sm.assertRunning()
  const parts: string[] = [hash64(encodeCbor({ lastApplied: sm.lastApplied, sessions: [...sm.sessions] }))]
  const names = [...sm.collections.keys()].sort()
  for (const name of names) {
    const c = sm.collections.get(name)!
    const items = [...c.items.values()]
    const d = c.options.dimensions
    const vectors = new Float32Array(items.length * d)
    items.forEach((it, i) => {
      vectors.set(it.vector, i * d)
    })
    const table = encodeCbor({
      name,
      options: c.options,
      nextKey: c.nextKey,
      indexed: c.index.count(),
      ids: items.map((it) => [it.id, it.key]),
      metadata: items.map((it) => it.metadata ?? null),
    })
    parts.push(hash64(table), hash64(new Uint8Array(vectors.buffer)))
  }
  return hash64(new TextEncoder().encode(parts.join(':')))
}
