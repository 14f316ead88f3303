import type { Peer } from '@flotilla/core'
import { dialWithRetry } from '@flotilla/transport-libp2p/browser'
import type { Libp2p } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { DemoConfig } from './rendezvous.js'

const KEEP_EVERY_MS = 1000
/**
 * A WebRTC dial to a tab that just joined often hangs until it times out: the connection comes
 * up but its data channels stay `connecting` (seen in headless Chromium on loopback; the cause
 * is not known), while a fresh dial usually connects at once. A short first attempt gets a
 * joiner in within seconds; later ones are longer, leaving room for slow ICE on real networks.
 */
const FIRST_ATTEMPT_MS = 3000
const LATER_ATTEMPT_MS = 8000

/**
 * Keeps this tab connected to every member: Node peers at their own addresses, tabs over
 * WebRTC, signalled through the relay. Raft only runs on direct connections, and a dial
 * that fails (a tab asleep, a flaky ICE exchange) is simply tried again a second later.
 */
export class Mesh {
  private readonly dialing = new Set<string>()
  /** Members whose last dial failed. */
  private readonly failed = new Set<string>()
  private timer: ReturnType<typeof setInterval> | undefined

  constructor(
    private readonly node: Libp2p,
    private readonly config: DemoConfig,
  ) {}

  /** Dials the relay and waits for our reservation, so other tabs can reach us. */
  async reachRelay(): Promise<void> {
    await dialWithRetry(this.node, multiaddr(this.config.relay), { attempts: 8 })
    for (let i = 0; i < 200; i++) {
      if (this.node.getMultiaddrs().some((a) => a.toString().includes('/p2p-circuit/webrtc'))) return
      await new Promise((r) => setTimeout(r, 50))
    }
    throw new Error('the relay gave this tab no reservation within 10 s')
  }

  track(peer: Peer): void {
    const keep = () => {
      if (peer.status().state !== 'running') return
      for (const m of peer.status().members) if (m.id !== peer.id) this.keep(m.id)
    }
    keep()
    this.timer = setInterval(keep, KEEP_EVERY_MS)
  }

  /** The addresses at which `id` is reached. */
  addrs(id: string): string[] {
    return this.config.nodeAddrs[id] ?? [`${this.config.relay}/p2p-circuit/webrtc/p2p/${id}`]
  }

  /** True when some connection to `id` is direct (not relayed). */
  connected(id: string): boolean {
    return this.node.getConnections(peerIdFromString(id)).some((c) => c.limits === undefined)
  }

  private keep(id: string): void {
    if (this.dialing.has(id) || this.connected(id)) return
    this.dialing.add(id)
    const addrs = this.addrs(id).map((a) => multiaddr(a))
    const attemptTimeoutMs = this.failed.has(id) ? LATER_ATTEMPT_MS : FIRST_ATTEMPT_MS
    void this.node.peerStore
      .merge(peerIdFromString(id), { multiaddrs: addrs })
      .then(() => dialWithRetry(this.node, addrs[0], { attempts: 1, attemptTimeoutMs }))
      .then(
        () => this.failed.delete(id),
        () => this.failed.add(id),
      )
      .finally(() => this.dialing.delete(id))
  }

  stop(): void {
    clearInterval(this.timer)
  }
}
