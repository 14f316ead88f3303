/**
 * Runs on the Node side of the browser tests (a Vitest browser command, see vite.config.ts):
 * the native replica's answers to the divergence stream, for a Chromium page to compare with.
 */
import { createStateMachine } from '../../src/state/index.js'
import { divergenceStream, fingerprint, replay, streamFingerprint } from './divergence-stream.js'

export interface DivergenceReference {
  stream: string
  results: string
  digest: string
  /** Digest after the first `mid` entries, for a replica restored from a snapshot there. */
  midDigest: string
}

export async function divergenceReference(
  _context: unknown,
  seed: number,
  n: number,
  mid: number,
): Promise<DivergenceReference> {
  const entries = divergenceStream(seed, n)
  const sm = await createStateMachine({ engine: 'native' })
  const first = replay(sm, entries, 0, mid)
  const second = replay(sm, entries, mid)
  if (first.stoppedAt || second.stoppedAt)
    throw new Error(`native replica stopped: ${second.error ?? first.error}`)
  return {
    stream: streamFingerprint(entries),
    results: fingerprint([...first.results, ...second.results]),
    digest: second.digest,
    midDigest: first.digest,
  }
}
