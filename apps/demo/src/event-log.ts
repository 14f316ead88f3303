export type EventKind = 'start' | 'leader' | 'role' | 'group' | 'snapshot' | 'data' | 'network' | 'error'

export interface DemoEvent {
  /** Epoch milliseconds. */
  at: number
  kind: EventKind
  text: string
}

/** The page's event log: elections, membership changes and the like, newest last. */
export class EventLog {
  readonly events: DemoEvent[] = []

  constructor(private readonly max = 500) {}

  add(kind: EventKind, text: string): void {
    this.events.push({ at: Date.now(), kind, text })
    console.info(`[flotilla] ${kind}: ${text}`)
    if (this.events.length > this.max) this.events.splice(0, this.events.length - this.max)
  }

  since(at: number): DemoEvent[] {
    return this.events.filter((e) => e.at > at)
  }
}
