import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads'
import { MemoryNetwork, openPeer, type Peer } from '@flotilla/core'
import { openFsStorage } from '@flotilla/storage-fs'
import { peerInternals } from '../packages/core/src/peer/internals.js'
import { bareIngest } from './_bare-ingest.js'
import { mixture } from './_vector-data.js'

/**
 * npm run bench -- peer [--vectors N] [--rounds R] [--in-flight F] [--only ingest]
 * The peer driver against bare usearch, in one process (storage-fs in a temporary folder, the
 * native engine):
 * - replicated ingest of 128-d vectors upserted in batches of 100 (F = 4 batches in flight), until
 *   every data replica applied them, for 3 data peers and for 2 data + 1 witness, each peer in a
 *   worker thread (MessagePorts carry the wire codec), so replicas index in parallel as separate
 *   processes would; against bare usearch inserting the same vectors on one thread. Also bare
 *   usearch on two threads side by side (`ingest_per_s_bare_2x`, the slower thread's rate): the
 *   most two replicas could reach on this machine, so `ratio_ingest_2w_of_2x` is what the peer
 *   itself costs. Rounds interleave every figure and keep the best of each (a shared machine);
 * - 128-byte metadata updates at 1, 16 and 256 in flight on a 3-peer group;
 * - local and bounded-staleness search on a follower against searching its state machine
 *   directly (the same index, no peer in between), in short interleaved rounds (medians).
 */
const args = process.argv.slice(2)
const flag = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined)
const N = Number(flag('--vectors') ?? 20_000)
// `--only ingest` runs the ingest figures alone (to iterate on them); the default runs everything.
const ONLY = flag('--only')
const D = 128
const BATCH = 100
const IN_FLIGHT = Number(flag('--in-flight') ?? 4)
const ROUNDS = Number(flag('--rounds') ?? 3)
const dataset = mixture(D, 64, 0.15, 7).sample(N, 11)
const row = (i: number) => dataset.subarray(i * D, (i + 1) * D)
const RAFT = { tickMs: 50, electionTicks: 20 }

/** Two bare usearch inserts at once, one per worker thread: the slower one's vectors per second. */
async function bareIngestTwice(): Promise<number> {
  const workers = [0, 1].map(
    () =>
      new Worker(new URL('./_worker-boot.mjs', import.meta.url), {
        workerData: {
          entry: new URL('./_bare-worker.ts', import.meta.url).href,
          setup: { vectors: N, dimensions: D, batch: BATCH },
        },
      }),
  )
  const next = (w: Worker) =>
    new Promise<unknown>((resolve, reject) => w.once('message', resolve).once('error', reject))
  await Promise.all(workers.map(next))
  const rates = await Promise.all(
    workers.map((w) => {
      const done = next(w)
      w.postMessage('go')
      return done as Promise<number>
    }),
  )
  await Promise.all(workers.map((w) => w.terminate()))
  return Math.min(...rates)
}

interface Group {
  peers: Peer[]
  leader: Peer
  close(): Promise<void>
}

async function group(data: number, witnesses: number): Promise<Group> {
  const dir = await mkdtemp(join(tmpdir(), 'flotilla-bench-'))
  const net = new MemoryNetwork()
  const ids = Array.from({ length: data + witnesses }, (_, i) => `p${i}`)
  const bootstrap = { voters: ids.slice(0, data), witnesses: ids.slice(data) }
  const peers: Peer[] = []
  for (const [i, id] of ids.entries()) {
    peers.push(
      await openPeer({
        id,
        storage: await openFsStorage({ dir: join(dir, id) }),
        transport: net.endpoint(id),
        role: i < data ? 'data' : 'witness',
        bootstrap,
        engine: { engine: 'native' },
        raft: { ...RAFT, priority: i === 0 ? 2 : 1 },
        limits: { maxPendingWrites: 4096 },
      }),
    )
  }
  const leaderOf = () => peers.find((p) => p.status().raftRole === 'leader')
  while (!leaderOf()) await sleep(20)
  const leader = leaderOf() as Peer
  return {
    peers,
    leader,
    async close() {
      for (const p of peers) await p.close({ transfer: false })
      await rm(dir, { recursive: true, force: true })
    },
  }
}

/** A group of peers, one per worker thread, for ingest: replicas index in parallel. */
async function workerGroup(data: number, witnesses: number): Promise<{ seconds: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'flotilla-bench-'))
  const ids = Array.from({ length: data + witnesses }, (_, i) => `w${i}`)
  const bootstrap = { voters: ids.slice(0, data), witnesses: ids.slice(data) }
  const ports: Record<string, Record<string, MessagePort>> = Object.fromEntries(ids.map((id) => [id, {}]))
  for (let i = 0; i < ids.length; i++)
    for (let j = i + 1; j < ids.length; j++) {
      const { port1, port2 } = new MessageChannel()
      ports[ids[i]][ids[j]] = port1
      ports[ids[j]][ids[i]] = port2
    }
  const workers = ids.map((id, i) => {
    const setup = {
      id,
      role: i < data ? 'data' : 'witness',
      bootstrap,
      dir: join(dir, id),
      ports: ports[id],
      priority: i === 0 ? 2 : 1,
    }
    return new RpcWorker(
      new Worker(new URL('./_worker-boot.mjs', import.meta.url), {
        workerData: { entry: new URL('./_peer-worker.ts', import.meta.url).href, setup },
        transferList: Object.values(ports[id]),
      }),
    )
  })
  await Promise.all(workers.map((w) => w.ready))
  let leader: RpcWorker | undefined
  while (!leader) {
    for (const w of workers)
      if (((await w.call({ cmd: 'status' })) as { raftRole: string }).raftRole === 'leader') leader = w
    await sleep(20)
  }
  for (const w of workers) await w.call({ cmd: 'prepare', vectors: N, dimensions: D })
  const started = performance.now()
  const last = (await leader.call({
    cmd: 'ingest',
    vectors: N,
    dimensions: D,
    batch: BATCH,
    inFlight: IN_FLIGHT,
  })) as number
  // Every data replica indexes every vector: the run ends when the slowest one has.
  await Promise.all(workers.slice(0, data).map((w) => w.call({ cmd: 'applied', index: last })))
  const seconds = (performance.now() - started) / 1000
  const busy = []
  for (const w of workers)
    busy.push((await w.call({ cmd: 'busy' })) as { busy: number; applySeconds: number })
  console.log(
    `  ${data} data + ${witnesses} witness: ${(N / seconds).toFixed(0)} vectors/s in ${seconds.toFixed(2)} s; busy ${busy
      .map((b, i) => `${ids[i]} ${(b.busy * 100).toFixed(0)}% (applying ${b.applySeconds.toFixed(2)} s)`)
      .join(', ')}`,
  )
  for (const w of workers) {
    await w.call({ cmd: 'close' })
    await w.worker.terminate()
  }
  await rm(dir, { recursive: true, force: true })
  return { seconds }
}

class RpcWorker {
  readonly ready: Promise<unknown>
  private waiting: ((m: { ok?: unknown; error?: string }) => void)[] = []
  constructor(readonly worker: Worker) {
    worker.on('message', (m) => this.waiting.shift()?.(m))
    worker.on('error', (e) => {
      throw e
    })
    this.ready = new Promise((resolve) => this.waiting.push(resolve))
  }
  call(req: object): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.waiting.push((m) => (m.error ? reject(new Error(m.error)) : resolve(m.ok)))
      this.worker.postMessage(req)
    })
  }
}

async function smallWrites(
  g: Group,
  inFlight: number,
  total: number,
): Promise<{ perSecond: number; p50: number }> {
  await g.leader.createCollection('m', { dimensions: 4, metric: 'l2sq' }).catch(() => {})
  const docs = g.leader.collection('m')
  if ((await docs.count()).count === 0) await docs.upsert('doc', [1, 2, 3, 4])
  const text = 'x'.repeat(118)
  const latencies: number[] = []
  let issued = 0
  const started = performance.now()
  const worker = async () => {
    while (issued < total) {
      const n = issued++
      const t0 = performance.now()
      await docs.update('doc', { n, text })
      latencies.push(performance.now() - t0)
    }
  }
  await Promise.all(Array.from({ length: inFlight }, worker))
  const seconds = (performance.now() - started) / 1000
  latencies.sort((a, b) => a - b)
  return { perSecond: total / seconds, p50: latencies[Math.floor(latencies.length / 2)] }
}

interface SearchFigures {
  local: number
  bounded: number
  bare: number
  ratioLocal: number
  ratioBounded: number
}

async function searchRatio(g: Group): Promise<SearchFigures> {
  const follower = g.peers.find((p) => p !== g.leader && p.role === 'data')!
  const docs = follower.collection('v')
  const queries = mixture(D, 64, 0.15, 7).sample(2000, 99)
  const q = (i: number) => queries.subarray((i % 2000) * D, ((i % 2000) + 1) * D)
  // Internal access for the baseline only: the same state machine, searched with no peer between.
  const sm = peerInternals.get(follower)?.sm
  if (!sm) throw new Error('no state machine behind the follower')
  const runs = {
    bare: (i: number) => sm.search('v', q(i), { k: 10 }),
    local: (i: number) => docs.search(q(i), { k: 10, consistency: 'local' }),
    bounded: (i: number) => docs.search(q(i), { k: 10, consistency: { maxStalenessMs: 1000 } }),
  }
  const perRound = 500
  const time = async (fn: (i: number) => unknown, from: number) => {
    const t0 = performance.now()
    for (let i = from; i < from + perRound; i++) await fn(i)
    return perRound / ((performance.now() - t0) / 1000)
  }
  for (const fn of Object.values(runs)) for (let i = 0; i < 200; i++) await fn(i)
  // Many short rounds, the three kinds side by side in a rotating order; each figure is the median
  // over rounds, each ratio the median of the rounds' own ratios: noise on a shared machine
  // comes in bursts longer than a round, so a round's three runs see much the same machine.
  const order = ['bare', 'local', 'bounded'] as const
  const seen = { bare: [] as number[], local: [] as number[], bounded: [] as number[] }
  for (let round = 0; round < 20; round++)
    for (let j = 0; j < 3; j++) {
      const kind = order[(round + j) % 3]
      seen[kind].push(await time(runs[kind], round * perRound))
    }
  const ratios = (kind: 'local' | 'bounded') => seen[kind].map((x, i) => x / seen.bare[i])
  return {
    bare: median(seen.bare),
    local: median(seen.local),
    bounded: median(seen.bounded),
    ratioLocal: median(ratios('local')),
    ratioBounded: median(ratios('bounded')),
  }
}

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

const round = (x: number, digits = 3) => Number(x.toFixed(digits))
const best = { bare: 0, bare2x: 0, three: 0, twoW: 0 }
for (let r = 1; r <= ROUNDS; r++) {
  console.log(`ingest round ${r} of ${ROUNDS}:`)
  best.bare = Math.max(best.bare, await bareIngest(dataset, D, BATCH))
  best.bare2x = Math.max(best.bare2x, await bareIngestTwice())
  best.three = Math.max(best.three, N / (await workerGroup(3, 0)).seconds)
  best.twoW = Math.max(best.twoW, N / (await workerGroup(2, 1)).seconds)
}
const ingestFigures = {
  vectors: N,
  ingest_per_s_3: round(best.three, 0),
  ingest_per_s_2w: round(best.twoW, 0),
  ingest_per_s_bare: round(best.bare, 0),
  ingest_per_s_bare_2x: round(best.bare2x, 0),
  ratio_ingest_3: round(best.three / best.bare),
  ratio_ingest_2w: round(best.twoW / best.bare),
  ratio_ingest_2x: round(best.bare2x / best.bare),
  ratio_ingest_2w_of_2x: round(best.twoW / best.bare2x),
}
console.log(
  `best of ${ROUNDS}: bare usearch ${best.bare.toFixed(0)} vectors/s on one thread, ${best.bare2x.toFixed(0)} each on two at once; 3 data peers ${best.three.toFixed(0)} (${ingestFigures.ratio_ingest_3}x bare); 2 data + witness ${best.twoW.toFixed(0)} (${ingestFigures.ratio_ingest_2w}x bare)`,
)
if (ONLY === 'ingest') {
  console.log(JSON.stringify(ingestFigures))
  process.exit(0)
}
const three = await group(3, 0)
await three.leader.createCollection('v', { dimensions: D, metric: 'cos' })
let loaded = 0
for (let i = 0; i < N; i += BATCH) {
  const points = []
  for (let j = i; j < Math.min(N, i + BATCH); j++) points.push({ id: `v${j}`, vector: row(j) })
  loaded = (await three.leader.collection('v').upsert(points)).index
}
// Searches start once every replica holds every vector.
for (const p of three.peers)
  await p.collection('v').count({ consistency: 'local', minIndex: loaded, timeoutMs: 600_000 })
const search = await searchRatio(three)
console.log(
  `follower search: local ${search.local.toFixed(0)} q/s, bounded ${search.bounded.toFixed(0)} q/s, state machine directly ${search.bare.toFixed(0)} q/s`,
)
const w1 = await smallWrites(three, 1, 2000)
const w16 = await smallWrites(three, 16, 10_000)
const w256 = await smallWrites(three, 256, 30_000)
console.log(
  `metadata updates: ${w1.perSecond.toFixed(0)}/s at 1 (p50 ${w1.p50.toFixed(2)} ms), ${w16.perSecond.toFixed(0)}/s at 16, ${w256.perSecond.toFixed(0)}/s at 256`,
)
await three.close()

console.log(
  JSON.stringify({
    ...ingestFigures,
    writes_per_s_1: round(w1.perSecond, 0),
    writes_per_s_16: round(w16.perSecond, 0),
    writes_per_s_256: round(w256.perSecond, 0),
    write_p50_ms_1: round(w1.p50),
    search_qps_local: round(search.local, 0),
    search_qps_bounded: round(search.bounded, 0),
    search_qps_bare: round(search.bare, 0),
    ratio_search_local: round(search.ratioLocal),
    ratio_search_bounded: round(search.ratioBounded),
  }),
)
