// Pending writes: sessions, forwarding through Raft, retries until a deadline, back-pressure.

import { RaftError } from '../raft/errors.js'
import type { Command, Session } from '../state/commands.js'
import { type StateErrorCode, StateMachineError } from '../state/errors.js'
import type { ApplyResult, CommandValue } from '../state/state-machine.js'
import type { PeerDriver } from './driver.js'
import { PeerError } from './errors.js'
import type { SessionId } from './types.js'

interface PendingWrite {
  key: string
  bytes: Uint8Array
  deadline: number
  nextRetryAt: number
  slot: number | null
  resolve: (result: { index: number; value: CommandValue | null }) => void
  reject: (error: Error) => void
}

/** Errors that depend on this replica's (maybe lagging) state: judged again at a linearizable point. */
const STATE_DEPENDENT = new Set<StateErrorCode>([
  'ERR_UNKNOWN_COLLECTION',
  'ERR_UNKNOWN_ID',
  'ERR_COLLECTION_EXISTS',
  'ERR_DIMENSION_MISMATCH',
])

export interface ProposalLimits {
  maxPendingWrites: number
  maxApplyLag: number
  writeTimeoutMs: number
  retryMs: number
}

/**
 * Every write carries a session (client id, sequence). This peer keeps a pool of its own
 * sessions, one write in flight per session, so retries after a leader change or a lost reply
 * apply once and concurrent writes never reorder within a session.
 */
export class Proposals {
  private readonly pending = new Map<string, PendingWrite>()
  private readonly slotSeq: number[] = []
  private readonly freeSlots: number[] = []
  private readonly clientPrefix: string

  constructor(
    private readonly d: PeerDriver,
    private readonly limits: ProposalLimits,
    random: () => number,
  ) {
    // A fresh prefix per run: a restarted peer never reuses a session it may have used before.
    this.clientPrefix = `${d.settings.id}:${Math.floor(random() * 2 ** 48).toString(36)}:`
    d.onApplied = (_entry, result, session) => this.applied(result, session)
    d.onTick.add(() => this.retryDue())
    d.events.on('leader', ({ leader }) => {
      if (leader) this.resubmitAll()
    })
  }

  get size(): number {
    return this.pending.size
  }

  /** Proposes `cmd` and resolves once it is applied on this peer. */
  async write(
    cmd: Command,
    options: { timeoutMs?: number; session?: SessionId },
  ): Promise<{ index: number; value: CommandValue | null }> {
    const d = this.d
    d.checkRunning()
    if (d.isWitness)
      throw new PeerError('ERR_WITNESS', `peer ${d.settings.id} is a witness: it takes no writes`)
    this.checkPressure()
    const sm = d.sm!
    const slot = options.session ? null : this.takeSlot()
    const session = options.session ?? { client: this.clientPrefix + slot, seq: this.slotSeq[slot!] }
    const key = sessionKey(session.client, session.seq)
    let bytes: Uint8Array
    try {
      if (this.pending.has(key))
        throw new PeerError(
          'ERR_INVALID',
          `session ${session.client} seq ${session.seq} is already in flight`,
          {
            field: 'session',
          },
        )
      // The exact bytes every replica will apply, checked as they will decode.
      const prepare = () => sm.prepare({ ...cmd, session })
      try {
        bytes = prepare()
      } catch (err) {
        if (
          !(
            err instanceof StateMachineError &&
            STATE_DEPENDENT.has(err.code) &&
            d.node.raft.role !== 'leader'
          )
        )
          throw err
        // This replica may lag: judge again once it has caught up with the leader.
        await d.linearizableCatchUp(options.timeoutMs ?? this.limits.writeTimeoutMs)
        bytes = prepare()
      }
    } catch (err) {
      if (slot !== null) this.releaseSlot(slot)
      throw err
    }
    const now = d.ticks.now()
    return new Promise((resolve, reject) => {
      const w: PendingWrite = {
        key,
        bytes,
        deadline: now + (options.timeoutMs ?? this.limits.writeTimeoutMs),
        nextRetryAt: now + this.limits.retryMs,
        slot,
        resolve,
        reject,
      }
      this.pending.set(key, w)
      this.submit(w)
    })
  }

  private checkPressure(): void {
    const d = this.d
    const retryAfterMs = Math.max(d.settings.tickMs, 50)
    if (this.pending.size >= this.limits.maxPendingWrites)
      throw new PeerError('ERR_BACKPRESSURE', `${this.pending.size} writes are pending on ${d.settings.id}`, {
        retryAfterMs,
      })
    const lag = d.node.raft.log.committed - d.applied
    if (lag > this.limits.maxApplyLag)
      throw new PeerError('ERR_BACKPRESSURE', `the state machine is ${lag} entries behind the commit index`, {
        retryAfterMs,
      })
  }

  private submit(w: PendingWrite): void {
    try {
      this.d.node.propose(w.bytes)
      this.d.schedule()
    } catch (err) {
      // No leader to take it yet (or a transfer is under way): the retry timer tries again.
      if (!(err instanceof RaftError)) throw err
    }
  }

  private applied(result: ApplyResult, session: Session | undefined): void {
    if (!session || this.pending.size === 0) return
    const w = this.pending.get(sessionKey(session.client, session.seq))
    if (!w) return
    this.settle(w)
    this.d.counters.proposals.add(result.ok ? 'ok' : result.error.code)
    if (result.ok) w.resolve({ index: result.index, value: result.value })
    else
      w.reject(
        new StateMachineError(
          result.error.code as StateErrorCode,
          result.error.field,
          stripField(result.error.message, result.error.field),
        ),
      )
  }

  private settle(w: PendingWrite): void {
    this.pending.delete(w.key)
    if (w.slot !== null) {
      this.slotSeq[w.slot]++
      this.releaseSlot(w.slot)
    }
  }

  private retryDue(): void {
    const d = this.d
    const now = d.ticks.now()
    for (const w of [...this.pending.values()]) {
      if (now >= w.deadline) {
        this.settle(w)
        d.counters.proposals.add(d.leader ? 'ERR_TIMEOUT' : 'ERR_NO_LEADER')
        w.reject(
          d.leader
            ? new PeerError(
                'ERR_TIMEOUT',
                'the write was not applied in time; it may still apply (retry with the same session)',
              )
            : new PeerError(
                'ERR_NO_LEADER',
                'no leader is known: the group has no quorum or is electing one',
              ),
        )
      } else if (now >= w.nextRetryAt) {
        w.nextRetryAt = now + this.limits.retryMs
        this.submit(w)
      }
    }
  }

  private resubmitAll(): void {
    const now = this.d.ticks.now()
    for (const w of this.pending.values()) {
      w.nextRetryAt = now + this.limits.retryMs
      this.submit(w)
    }
  }

  failAll(error: Error): void {
    for (const w of [...this.pending.values()]) {
      this.settle(w)
      w.reject(error)
    }
  }

  private takeSlot(): number {
    const free = this.freeSlots.pop()
    if (free !== undefined) return free
    this.slotSeq.push(1)
    return this.slotSeq.length - 1
  }

  private releaseSlot(slot: number): void {
    this.freeSlots.push(slot)
  }
}

const sessionKey = (client: string, seq: number) => `${seq}@${client}`

function stripField(message: string, field: string | undefined): string {
  return field && message.startsWith(`${field}: `) ? message.slice(field.length + 2) : message
}
