import { MessageType } from '../raft/messages.js'
import type { Histogram } from './types.js'

/** Latency buckets in seconds: 50 µs to 10 s. */
const LATENCY_BUCKETS = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10,
]

export class HistogramRecorder {
  private readonly counts = new Array<number>(LATENCY_BUCKETS.length + 1).fill(0)
  private sum = 0
  private count = 0

  observe(seconds: number): void {
    this.sum += seconds
    this.count++
    let i = 0
    while (i < LATENCY_BUCKETS.length && seconds > LATENCY_BUCKETS[i]) i++
    this.counts[i]++
  }

  snapshot(): Histogram {
    const cumulative: number[] = []
    let total = 0
    for (const c of this.counts) {
      total += c
      cumulative.push(total)
    }
    return { buckets: [...LATENCY_BUCKETS], counts: cumulative, sum: this.sum, count: this.count }
  }
}

export class Counters {
  readonly values: Record<string, number> = {}

  add(key: string, n = 1): void {
    this.values[key] = (this.values[key] ?? 0) + n
  }

  snapshot(): Record<string, number> {
    return { ...this.values }
  }
}

const TYPE_NAMES = new Map<number, string>(Object.entries(MessageType).map(([name, v]) => [v, name]))

export function messageTypeName(type: number): string {
  return TYPE_NAMES.get(type) ?? String(type)
}

/** The driver's counters; `metrics()` turns them into PeerMetrics. */
export class PeerCounters {
  readonly proposals = new Counters()
  readonly reads = new Counters()
  readonly sent = new Counters()
  readonly received = new Counters()
  readonly dropped = new Counters()
  readonly fsync = new HistogramRecorder()
  readonly apply = new HistogramRecorder()
  electionsStarted = 0
  electionsWon = 0
  snapshotsTaken = 0
  snapshotsSent = 0
  snapshotsInstalled = 0
}
