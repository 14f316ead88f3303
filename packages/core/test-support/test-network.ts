import type { Clock, Message, Timers, Transport } from '../src/index.js'

/** One virtual clock for a test; each peer gets timers that can stall while the clock runs. */
export class ManualClock implements Clock {
  t = 1000
  now(): number {
    return this.t
  }
}

interface Timer {
  at: number
  fn: () => void
}

export class StallableTimers implements Timers {
  private readonly timers = new Set<Timer>()
  stalled = false

  constructor(private readonly clock: ManualClock) {}

  setTimeout(fn: () => void, ms: number): unknown {
    const t = { at: this.clock.now() + ms, fn }
    this.timers.add(t)
    return t
  }

  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as Timer)
  }

  /** Fires what is due, unless this peer's timers are stalled (a paused process, a frozen tab). */
  runDue(): void {
    if (this.stalled) return
    for (const t of [...this.timers]) {
      if (t.at > this.clock.now()) continue
      this.timers.delete(t)
      t.fn()
    }
  }
}

/** A transport wrapper whose links can be cut, in both directions. */
export class CuttableTransport implements Transport {
  cut = false
  private handler: (m: Message) => void = () => {}

  constructor(private readonly inner: Transport) {
    inner.onMessage((m) => {
      if (!this.cut) this.handler(m)
    })
  }

  get localId() {
    return this.inner.localId
  }

  send(m: Message): boolean {
    return this.cut ? true : this.inner.send(m)
  }

  onMessage(handler: (m: Message) => void): void {
    this.handler = handler
  }

  onPeerEvent(handler: Parameters<Transport['onPeerEvent']>[0]): void {
    this.inner.onPeerEvent(handler)
  }

  close(): Promise<void> {
    return this.inner.close()
  }
}

const flush = () => new Promise<void>((r) => setTimeout(r, 0))

/** Moves the virtual clock in steps, firing each peer's due timers and letting promises settle. */
export async function advance(
  clock: ManualClock,
  timers: StallableTimers[],
  ms: number,
  step = 5,
): Promise<void> {
  for (let done = 0; done < ms; done += step) {
    clock.t += step
    for (const t of timers) t.runDue()
    await flush()
  }
}
