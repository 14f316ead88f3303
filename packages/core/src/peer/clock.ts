import type { Clock, Timers } from './types.js'

export const systemClock: Clock = { now: () => performance.now() }

export const systemTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle),
}

/** How many tick times to remember: freshness proofs are only a few ticks old. */
const TICK_HISTORY = 4096

/**
 * Keeps Raft's tick count honest against the monotonic clock. Timers stall (a paused process, a
 * frozen tab, a long GC); `catchUp()` runs the ticks that are due, so a lease or a staleness proof
 * is never judged on a tick count that lags real time. A gap longer than `maxCatchUp` ticks is
 * not replayed tick by tick (it would flood the group with heartbeats): `maxCatchUp` exceeds the
 * lease and the election timeout, so after it every lease and vote refusal has expired anyway.
 */
export class TickClock {
  private nextTickAt: number
  private readonly times = new Float64Array(TICK_HISTORY)
  /** Ticks run so far: equals Raft's own tick count when Raft starts at 0 with this clock. */
  ticks = 0
  /** Times a catch-up had to skip ticks (the timer stalled past `maxCatchUp`). */
  jumps = 0

  constructor(
    private readonly clock: Clock,
    readonly tickMs: number,
    private readonly maxCatchUp: number,
    private readonly tick: () => void,
  ) {
    const now = clock.now()
    this.nextTickAt = now + tickMs
    this.times[0] = now
  }

  now(): number {
    return this.clock.now()
  }

  /** Runs every tick that is due; returns how many ran. */
  catchUp(): number {
    const now = this.clock.now()
    let ran = 0
    while (now >= this.nextTickAt && ran < this.maxCatchUp) {
      this.nextTickAt += this.tickMs
      this.ticks++
      this.times[this.ticks % TICK_HISTORY] = now
      ran++
      this.tick()
    }
    if (now >= this.nextTickAt) {
      this.jumps++
      this.nextTickAt = now + this.tickMs
    }
    return ran
  }

  /** Milliseconds until the next tick is due. */
  untilNextTick(): number {
    return Math.max(0, this.nextTickAt - this.clock.now())
  }

  /**
   * The clock time at which tick `tick` began (so anything stamped with it happened no earlier),
   * or undefined when it is too old to remember.
   */
  timeOfTick(tick: number): number | undefined {
    if (tick > this.ticks || tick < 0 || this.ticks - tick >= TICK_HISTORY) return undefined
    return this.times[tick % TICK_HISTORY]
  }
}
