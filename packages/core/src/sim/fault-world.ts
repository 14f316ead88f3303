import type { ConfChangeItem } from '../raft/confchange.js'
import type { MessageType } from '../raft/messages.js'
import type { RawNode, Ready } from '../raft/raw-node.js'

// What the fault schedule (faults.ts), its actions (fault-actions.ts) and the convergence checks
// (convergence.ts) need of a simulated world. Both drivers implement it: the Raft-only loop
// (cluster.ts) and the world of real openPeer instances (peer-world.ts).

/** Extra delay, in [min, max) ms, for matching messages sent before `until`. */
export interface DelayRule {
  from?: string
  to?: string
  type?: MessageType
  /** Only messages of a later term than this (a peer's messages once it campaigns). */
  aboveTerm?: number
  until: number
  min: number
  max: number
}

export interface NetworkFaults {
  drop: number
  duplicate: number
  /** Chance that an append is delivered once more, much later (a stale duplicate). */
  replay?: number
  /** Chance that a leader's heartbeat goes out with its Figure 2 twin (paper-heartbeat.ts). */
  paperHeartbeat?: number
  minDelay: number
  maxDelay: number
}

/**
 * Blocked directed links, counted: two overlapping partitions that cut one link keep it cut
 * until both have healed.
 */
export class LinkBlocks {
  private counts = new Map<string, number>()

  add(link: string): void {
    this.counts.set(link, (this.counts.get(link) ?? 0) + 1)
  }

  delete(link: string): void {
    const n = (this.counts.get(link) ?? 0) - 1
    if (n > 0) this.counts.set(link, n)
    else this.counts.delete(link)
  }

  has(link: string): boolean {
    return this.counts.has(link)
  }

  clear(): void {
    this.counts.clear()
  }
}

/** Extra delay for a message under the world's rules (and the sender's and receiver's slowness). */
export function extraDelay(
  rules: DelayRule[],
  m: { from: string; to: string; type: MessageType; term: number },
  now: number,
  next: () => number,
): number {
  let delay = 0
  for (const d of rules) {
    if (d.until < now || (d.from && d.from !== m.from) || (d.to && d.to !== m.to)) continue
    if (d.aboveTerm !== undefined && m.term <= d.aboveTerm) continue
    if (d.type === undefined || d.type === m.type) delay += d.min + next() * (d.max - d.min)
  }
  return delay
}

export interface FaultPeer {
  readonly id: string
  readonly kind: 'data' | 'witness'
  /** Election priority (the preferred leader has the highest). */
  readonly priority: number
  /** Bumped at every crash and start. */
  readonly gen: number
  /** The running Raft node; null while down. */
  readonly node: RawNode | null
}

export interface FaultWorld<P extends FaultPeer = FaultPeer> {
  readonly now: number
  at(time: number, fn: () => void): void
  trace(line: string): void
  readonly peers: Map<string, P>
  leader(): P | undefined
  readonly blocked: LinkBlocks
  delays: DelayRule[]
  net: NetworkFaults
  readonly timing: { tickMs: number; electionTick: number; maxDrift: number }
  crash(p: P): void
  start(p: P): void
  /** True once `p` runs again (or is on its way up) after a crash. */
  isUp(p: P): boolean
  /** `p`'s clock runs `drift` slower than true time (negative: faster), within ±maxDrift. */
  setDrift(p: P, drift: number): void
  /** `p`'s driver takes `ms` longer over each Ready while messages keep arriving (0: normal). */
  setApplyDelay(p: P, ms: number): void
  /** Everything `p` does is slow by `ms`: its messages both ways and its Readies (0: normal). */
  setSlow(p: P, ms: number): void
  transferLeadership(leader: P, target: string): void
  /** Proposes a configuration change at `leader`; false if it was refused at once. */
  proposeConfChange(leader: P, changes: ConfChangeItem[]): boolean
  /** Worlds of real peers only: swaps voters through the API in one joint configuration. */
  changeMembers?(leader: P, add: string[], remove: string[]): void
  /** An operator starts an election at `p` by hand. */
  campaign(p: P): void
  /** Return true to crash `p` right after a Ready became durable, before it sends anything. */
  crashAfterPersist: ((p: P, rd: Ready) => boolean) | null
  /** Called once per new (leader, term). */
  onNewLeader: ((p: P) => void) | null
  /** Worlds of real peers only: `p`'s timers stall for `ms` while its clock runs on. */
  stall?(p: P, ms: number): void
  /**
   * Worlds of real peers only: a leader is about to commit an entry of an earlier term by its
   * count of replicas, which Raft never does (Figure 8). Called before it sends that Ready.
   */
  onOldTermCommit?: ((p: P) => void) | null
  /** Worlds of real peers only: return true to crash `p` while a Ready's write is in flight. */
  crashBeforePersist?: ((p: P, rd: Ready) => boolean) | null
}
