import { createHash } from 'node:crypto'
import type { Operation } from '@flotilla/core/sim'
import type { HttpClient } from './http-client.js'

/** Where the workload sends requests: the data peers that are running now. */
export interface Targets {
  urls(): string[]
}

export interface WorkloadOptions {
  writers: number
  /** Registers the writers overwrite (the linearizability check is per register). */
  keys: number
  collection: string
  dimensions: number
  /** Share of operations that are linearizable or lease reads (default 0.2). */
  readShare?: number
}

const vectorOf = (n: number, dims: number) =>
  Array.from({ length: dims }, (_, i) => ((n * 31 + i * 7) % 13) + 1)

/**
 * Clients over HTTP recording a history for the linearizability checker. Each write upserts, in
 * one batch, a register `r<k>` and a point of its own `l-<value>`, so the end state can be
 * checked for every acknowledged write. Outcomes: 2xx = done at its return; 429/4xx = did not
 * happen; 5xx, timeouts and dropped connections = unknown (may take effect any time later).
 */
export class Workload {
  readonly history: Operation[] = []
  /** Point ids whose write was acknowledged, with the time of the acknowledgement. */
  readonly acked = new Map<string, number>()
  readonly attempted = new Set<string>()
  readonly failures = new Map<string, number>()
  private running = false
  private loops: Promise<void>[] = []
  private nextOp = 0

  constructor(
    private readonly http: HttpClient,
    private readonly targets: Targets,
    private readonly options: WorkloadOptions,
  ) {}

  start(): void {
    this.running = true
    for (let w = 0; w < this.options.writers; w++) this.loops.push(this.writer(w))
  }

  async stop(): Promise<void> {
    this.running = false
    await Promise.all(this.loops)
  }

  /** Acknowledged writes after `t` (performance.now()). */
  ackedAfter(t: number): number {
    let n = 0
    for (const at of this.acked.values()) if (at > t) n++
    return n
  }

  private async writer(w: number): Promise<void> {
    let seq = 0
    const { collection, keys, dimensions } = this.options
    while (this.running) {
      const urls = this.targets.urls()
      const url = urls[Math.floor(Math.random() * urls.length)]
      const key = `r${Math.floor(Math.random() * keys)}`
      if (Math.random() < (this.options.readShare ?? 0.2)) {
        const level = Math.random() < 0.5 ? 'linearizable' : 'lease'
        await this.read(`${url}/v1/collections/${collection}/points/${key}?consistency=${level}`, key)
        continue
      }
      const value = `w${w}-${++seq}`
      const vector = vectorOf(seq + w, dimensions)
      const body = {
        points: [
          { id: key, vector, metadata: { v: value } },
          { id: `l-${value}`, vector, metadata: { v: value } },
        ],
      }
      this.attempted.add(`l-${value}`)
      const op: Operation = {
        id: this.nextOp++,
        key,
        kind: 'put',
        value,
        call: performance.now(),
        ret: Infinity,
      }
      const headers = { 'flotilla-client-id': `writer-${w}`, 'flotilla-seq': String(seq) }
      try {
        const r = await this.http.send(
          `${url}/v1/collections/${collection}/points`,
          'POST',
          body,
          headers,
          20_000,
        )
        if (r.status === 200) {
          op.ret = performance.now()
          this.acked.set(`l-${value}`, op.ret)
        } else this.count(String(r.status))
        // A definite refusal never took effect; leave it out of the history.
        if (r.status === 200 || r.status >= 500) this.history.push(op)
      } catch (error) {
        this.count((error as Error).message.slice(0, 40))
        this.history.push(op)
        await new Promise((r) => setTimeout(r, 50))
      }
    }
  }

  private async read(url: string, key: string): Promise<void> {
    const call = performance.now()
    try {
      const r = await this.http.get<{ metadata?: { v: string }; error?: { code: string } }>(url)
      const ret = performance.now()
      if (r.status === 200) {
        this.history.push({
          id: this.nextOp++,
          key,
          kind: 'get',
          value: r.body.metadata?.v ?? null,
          call,
          ret,
        })
      } else if (r.status === 404 && r.body.error?.code === 'ERR_UNKNOWN_ID') {
        this.history.push({ id: this.nextOp++, key, kind: 'get', value: null, call, ret })
      } else this.count(`read ${r.status}`)
    } catch (error) {
      this.count(`read ${(error as Error).message.slice(0, 40)}`)
      await new Promise((r) => setTimeout(r, 50))
    }
  }

  private count(what: string): void {
    this.failures.set(what, (this.failures.get(what) ?? 0) + 1)
  }
}

/**
 * The state of `ids` on one peer, read locally once it has applied `minIndex`: a digest, the
 * ids present, and the collection's count. Equal digests and counts on every peer mean equal state
 * (every id ever written is in `ids`).
 */
export async function stateDigest(
  http: HttpClient,
  url: string,
  collection: string,
  ids: string[],
  minIndex: number,
): Promise<{ digest: string; present: Set<string>; count: number }> {
  const values = new Map<string, string>()
  const q = `consistency=local&minIndex=${minIndex}`
  const queue = [...ids]
  const worker = async () => {
    for (let id = queue.pop(); id !== undefined; id = queue.pop()) {
      const r = await http.get<{ vector: number[]; metadata: unknown }>(
        `${url}/v1/collections/${collection}/points/${id}?${q}`,
      )
      if (r.status === 200) values.set(id, JSON.stringify([r.body.vector, r.body.metadata]))
      else if (r.status !== 404) throw new Error(`GET ${id} on ${url}: ${r.status} ${JSON.stringify(r.body)}`)
    }
  }
  await Promise.all(Array.from({ length: 16 }, worker))
  const hash = createHash('sha256')
  for (const id of [...ids].sort()) hash.update(`${id}=${values.get(id) ?? '-'}\n`)
  const info = await http.get<{ count: number }>(`${url}/v1/collections/${collection}?${q}`)
  return { digest: hash.digest('hex'), present: new Set(values.keys()), count: info.body.count }
}
