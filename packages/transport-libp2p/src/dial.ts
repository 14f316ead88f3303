import type { Connection, Libp2p } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

export interface DialRetryOptions {
  /** Limit of one attempt (default 5 s): a failed WebRTC dial hangs rather than failing. */
  attemptTimeoutMs?: number
  /** Attempts in all (default 4). */
  attempts?: number
  /** Wait before the second attempt, doubled after each (default 250 ms). */
  backOffMs?: number
}

/**
 * Dials `addr` with a short per-attempt timeout and retries with back-off. WebRTC dials
 * sometimes fail after ICE succeeds and then hang until their timeout; a fresh attempt
 * usually connects at once.
 */
export async function dialWithRetry(
  node: Libp2p,
  addr: Multiaddr,
  options: DialRetryOptions = {},
): Promise<Connection> {
  const attempts = options.attempts ?? 4
  let wait = options.backOffMs ?? 250
  let last: unknown
  for (let i = 0; i < attempts; i++) {
    try {
      return await node.dial(addr, { signal: AbortSignal.timeout(options.attemptTimeoutMs ?? 5000) })
    } catch (err) {
      last = err
      if (i + 1 < attempts) await new Promise((r) => setTimeout(r, wait))
      wait *= 2
    }
  }
  throw last
}
