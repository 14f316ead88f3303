import type { Peer, Histogram as PeerHistogram, PeerMetrics } from '@flotilla/core'
import { Counter, Gauge, Histogram, type Metric, Registry } from 'prom-client'

/** What /metrics reads on each scrape; the transport's counters are optional (tests). */
export interface MetricSources {
  peer(): Peer | null
  transport?(): {
    framesSent: Record<string, number>
    bytesSent: Record<string, number>
    framesReceived: Record<string, number>
    bytesReceived: Record<string, number>
    drops: Record<string, number>
  }
  /**
   * The membership gate's refusals by kind (absent on an open relay). Plain counts: this module
   * is part of `@flotilla/peer/http` and must not pull in the libp2p transport.
   */
  gate?(): Record<string, number>
}

const RAFT_ROLES = ['leader', 'follower', 'candidate', 'precandidate']

/**
 * The peer's metrics (DESIGN §9) as prom-client metrics, read from `peer.metrics()` at scrape
 * time, plus the HTTP layer's request counts and latencies. One registry per process, which the
 * libp2p metrics (`@libp2p/prometheus-metrics`) register into as well.
 */
export class PeerMetricsRegistry {
  readonly registry = new Registry()
  private readonly requests: Counter<'method' | 'route' | 'status'>
  private readonly latency: Histogram<'method' | 'route' | 'status'>
  private snapshot: PeerMetrics | null = null

  constructor(private readonly sources: MetricSources) {
    const registers = [this.registry]
    this.requests = new Counter({
      name: 'flotilla_http_requests_total',
      help: 'HTTP requests by method, route and status',
      labelNames: ['method', 'route', 'status'],
      registers,
    })
    this.latency = new Histogram({
      name: 'flotilla_http_request_duration_seconds',
      help: 'HTTP request latency by method, route and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    })
    this.defineGauges()
    this.defineCounters()
    this.registry.registerMetric(
      this.histogram('flotilla_fsync_seconds', 'Durable saves', (m) => m.fsyncSeconds),
    )
    this.registry.registerMetric(
      this.histogram('flotilla_apply_seconds', 'Applying committed entries', (m) => m.applySeconds),
    )
  }

  observeRequest(method: string, route: string, status: number, seconds: number): void {
    const labels = { method, route, status: String(status) }
    this.requests.inc(labels)
    this.latency.observe(labels, seconds)
  }

  async render(): Promise<{ contentType: string; body: string }> {
    // One `peer.metrics()` per scrape, shared by every collector.
    this.snapshot = this.sources.peer()?.metrics() ?? null
    return { contentType: this.registry.contentType, body: await this.registry.metrics() }
  }

  private read(): PeerMetrics | null {
    return this.snapshot
  }

  private gauge(name: string, help: string, value: (m: PeerMetrics) => number): void {
    const read = () => this.read()
    new Gauge({
      name,
      help,
      registers: [this.registry],
      collect() {
        const m = read()
        if (m) this.set(value(m))
      },
    })
  }

  private defineGauges(): void {
    const self = this
    this.gauge('flotilla_raft_term', 'Current Raft term', (m) => m.term)
    new Gauge({
      name: 'flotilla_raft_role',
      help: 'Raft role of this peer (1 for the current one)',
      labelNames: ['role'],
      registers: [this.registry],
      collect() {
        const m = self.read()
        if (!m) return
        for (const role of new Set([...RAFT_ROLES, m.role])) this.set({ role }, role === m.role ? 1 : 0)
      },
    })
    this.gauge('flotilla_raft_commit_index', 'Highest index known committed', (m) => m.commitIndex)
    this.gauge('flotilla_raft_applied_index', 'Highest index applied', (m) => m.appliedIndex)
    this.gauge('flotilla_raft_snapshot_bytes', 'Size of the latest snapshot', (m) => m.snapshotBytes)
    for (const [unit, pick] of [
      ['entries', (l: { entries: number }) => l.entries],
      ['seconds', (l: { seconds: number }) => l.seconds],
    ] as const) {
      new Gauge({
        name: `flotilla_replication_lag_${unit}`,
        help: `Leader only: how far each follower is behind, in ${unit}`,
        labelNames: ['peer'],
        registers: [this.registry],
        collect() {
          this.reset()
          const m = self.read()
          if (!m) return
          for (const [peer, lag] of Object.entries(m.replicationLag)) this.set({ peer }, pick(lag as never))
        },
      })
    }
  }

  /** A counter mirroring a total the peer keeps (reset, then set to the total on each scrape). */
  private mirror<L extends string>(
    name: string,
    help: string,
    labelNames: L[],
    totals: () => Array<[Partial<Record<L, string>>, number]>,
  ): void {
    new Counter({
      name,
      help,
      labelNames,
      registers: [this.registry],
      collect() {
        this.reset()
        for (const [labels, value] of totals()) if (value > 0) this.inc(labels, value)
      },
    })
  }

  private defineCounters(): void {
    const m = () => this.read()
    const entries = (r: Record<string, number> | undefined) => Object.entries(r ?? {})
    this.mirror('flotilla_proposals_total', 'Writes by result', ['result'], () =>
      entries(m()?.proposals).map(([result, n]) => [{ result }, n]),
    )
    this.mirror('flotilla_reads_total', 'Reads by consistency and result', ['consistency', 'result'], () =>
      entries(m()?.reads).map(([key, n]) => {
        const [consistency, result] = key.split(':')
        return [{ consistency, result: result ?? 'ok' }, n]
      }),
    )
    this.mirror('flotilla_elections_started_total', 'Elections this peer started', [], () => [
      [{}, m()?.electionsStarted ?? 0],
    ])
    this.mirror('flotilla_elections_won_total', 'Elections this peer won', [], () => [
      [{}, m()?.electionsWon ?? 0],
    ])
    this.mirror('flotilla_snapshots_total', 'Snapshots taken, sent and installed', ['kind'], () => {
      const x = m()
      return x
        ? [
            [{ kind: 'taken' }, x.snapshotsTaken],
            [{ kind: 'sent' }, x.snapshotsSent],
            [{ kind: 'installed' }, x.snapshotsInstalled],
          ]
        : []
    })
    this.mirror(
      'flotilla_messages_total',
      'Raft messages by direction and type',
      ['direction', 'type'],
      () => [
        ...entries(m()?.messagesSent).map(
          ([type, n]) => [{ direction: 'sent', type }, n] as [object, number],
        ),
        ...entries(m()?.messagesReceived).map(
          ([type, n]) => [{ direction: 'received', type }, n] as [object, number],
        ),
        ...entries(m()?.messagesDropped).map(
          ([type, n]) => [{ direction: 'dropped', type }, n] as [object, number],
        ),
      ],
    )
    this.mirror(
      'flotilla_message_bytes_total',
      'Raft message bytes on the wire by direction and type',
      ['direction', 'type'],
      () => {
        const t = this.sources.transport?.()
        return [
          ...entries(t?.bytesSent).map(([type, n]) => [{ direction: 'sent', type }, n] as [object, number]),
          ...entries(t?.bytesReceived).map(
            ([type, n]) => [{ direction: 'received', type }, n] as [object, number],
          ),
        ]
      },
    )
    this.mirror('flotilla_transport_drops_total', 'Frames the transport dropped, by reason', ['reason'], () =>
      entries(this.sources.transport?.().drops).map(([reason, n]) => [{ reason }, n]),
    )
    this.mirror(
      'flotilla_gate_refused_total',
      'Non-members refused by the membership gate: connections, relay reservations, relayed connections, connections closed',
      ['kind'],
      () => entries(this.sources.gate?.()).map(([kind, n]) => [{ kind }, n]),
    )
  }

  /** A histogram the peer already accumulates, exposed as-is (prom-client cannot set buckets). */
  private histogram(name: string, help: string, pick: (m: PeerMetrics) => PeerHistogram): Metric {
    const read = () => this.read()
    return {
      name,
      help,
      type: 'histogram',
      get: async () => {
        const h = read() ? pick(read() as PeerMetrics) : { buckets: [], counts: [0], sum: 0, count: 0 }
        const values = h.buckets.map((le, i) => ({
          metricName: `${name}_bucket`,
          labels: { le },
          value: h.counts[i] ?? 0,
        }))
        values.push({ metricName: `${name}_bucket`, labels: { le: '+Inf' as never }, value: h.count })
        return {
          name,
          help,
          type: 'histogram',
          aggregator: 'sum',
          values: [
            ...values,
            { metricName: `${name}_sum`, labels: {} as never, value: h.sum },
            { metricName: `${name}_count`, labels: {} as never, value: h.count },
          ],
        }
      },
      reset: () => {},
      labels: () => ({}) as never,
      remove: () => {},
    } as unknown as Metric
  }
}
