import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Peer } from '@flotilla/core'
import { pino } from 'pino'
import { DEFAULTS } from '../src/config.js'
import { type RunningPeer, startPeer } from '../src/main.js'
import {
  freePort,
  type HttpClient,
  PeerProcess,
  sleep,
  stateDigest,
  TestCluster,
  until,
  Workload,
} from '../test/support/index.js'

/**
 * npm run bench -- cluster [--seconds N] [--kills N] [--quick]
 * Three `flotilla-peer` processes on loopback (storage-fs, libp2p over TCP), driven over HTTP by
 * this one client process with keep-alive connections, requests spread over all peers:
 * - 128-byte metadata updates at 1, 16 and 256 in flight (writes/s, p50 and p99 latency);
 * - upserts of 128-d vectors in batches of 100, 256 batches in flight (vectors/s);
 * - failover: `kill -9` of the leader under 16 writers, N times, from the kill to the first
 *   acknowledged write sent after it; then every acknowledged write checked on every peer.
 * Then the same metadata-update load through the peer API in this process (three peers over
 * libp2p TCP and storage-fs, no HTTP), the baseline that shows what HTTP and processes cost.
 * Loads run at the default Raft timing; failover on a second group with short timeouts
 * (`--failover-tick-ms`, `--failover-election-ticks`).
 */
const args = process.argv.slice(2)
const flag = (name: string, fallback: number) => {
  const i = args.indexOf(name)
  return i >= 0 ? Number(args[i + 1]) : fallback
}
const quick = args.includes('--quick')
const SECONDS = flag('--seconds', quick ? 2 : 5)
const KILLS = flag('--kills', quick ? 3 : 20)
const D = 128
const POINTS = 1000
/** The loads run at the default Raft timing (100 ms ticks, elections after 1 to 2 s). */
const LOAD_FLAGS = ['--log-level', 'warn', '--body-limit', '67108864']
/** Failover needs shorter timeouts: 25 ms ticks, elections after 8 to 16 ticks (200 to 400 ms). */
const FAST_TICK_MS = flag('--failover-tick-ms', 25)
const FAST_ELECTION_TICKS = flag('--failover-election-ticks', 8)
const FAILOVER_FLAGS = [
  ...LOAD_FLAGS,
  '--tick-ms',
  String(FAST_TICK_MS),
  '--election-ticks',
  String(FAST_ELECTION_TICKS),
]
const metadataOf = () => ({ note: randomBytes(64).toString('hex') }) // 128 bytes
const vector = (i: number) => Array.from({ length: D }, (_, j) => Math.sin(i * 0.37 + j * 0.11))

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0
const round = (x: number, digits = 0) => Number(x.toFixed(digits))

interface LoadResult {
  perSecond: number
  p50: number
  p99: number
  errors: number
}

/** `inFlight` loops calling `op(i)` for `seconds`; counts successes and their latencies. */
async function load(
  inFlight: number,
  seconds: number,
  op: (i: number) => Promise<boolean>,
): Promise<LoadResult> {
  const latencies: number[] = []
  let errors = 0
  let next = 0
  const end = performance.now() + seconds * 1000
  const started = performance.now()
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (performance.now() < end) {
        const t = performance.now()
        const ok = await op(next++).catch(() => false)
        if (ok) latencies.push(performance.now() - t)
        else errors++
      }
    }),
  )
  const elapsed = (performance.now() - started) / 1000
  latencies.sort((a, b) => a - b)
  return {
    perSecond: latencies.length / elapsed,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    errors,
  }
}

async function httpLoads(cluster: TestCluster): Promise<Record<string, number>> {
  const http = cluster.http
  const urls = cluster.dataPeers.map((p) => p.url)
  const leader = await cluster.leader()
  await http.send(`${leader.url}/v1/collections/bench`, 'PUT', { dimensions: D, metric: 'cos' })
  for (let i = 0; i < POINTS; i += 100) {
    const points = Array.from({ length: 100 }, (_, j) => ({ id: `p${i + j}`, vector: vector(i + j) }))
    const r = await http.send(`${leader.url}/v1/collections/bench/points`, 'POST', { points })
    if (r.status !== 200) throw new Error(`preload: ${r.status} ${JSON.stringify(r.body)}`)
  }
  const update = (i: number) =>
    http
      .send(`${urls[i % urls.length]}/v1/collections/bench/points/p${i % POINTS}`, 'PATCH', {
        metadata: metadataOf(),
      })
      .then((r) => r.status === 200)
  const out: Record<string, number> = {}
  const termBefore = (await cluster.status(leader)).term
  for (const c of [1, 16, 256]) {
    await load(c, 1, update) // warm-up
    const r = await load(c, SECONDS, update)
    console.log(
      `HTTP   updates, ${String(c).padStart(3)} in flight: ${round(r.perSecond)} writes/s, p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms, ${r.errors} errors`,
    )
    out[`writes_per_s_${c}`] = round(r.perSecond)
    if (c === 1) out.write_p50_ms_1 = round(r.p50, 2)
    if (c === 16) out.write_p99_ms_16 = round(r.p99, 2)
  }
  let batch = 0
  const upsert = (i: number) => {
    const base = 1_000_000 + (batch++ % 5000) * 100
    const points = Array.from({ length: 100 }, (_, j) => ({ id: `u${base + j}`, vector: vector(base + j) }))
    return http
      .send(`${urls[i % urls.length]}/v1/collections/bench/points`, 'POST', { points }, {}, 60_000)
      .then((r) => r.status === 200)
  }
  const u = await load(256, SECONDS, upsert)
  console.log(
    `HTTP   upserts, 256 batches of 100 in flight: ${round(u.perSecond * 100)} vectors/s, ${u.errors} errors`,
  )
  out.upserts_per_s_256 = round(u.perSecond * 100)
  const fsync = await fsyncMedian(http, (await cluster.leader()).url)
  console.log(`leader's durable saves: ${fsync.count}, median under ${fsync.medianMs} ms (histogram bucket)`)
  out.leader_fsync_median_ms = fsync.medianMs
  // Elections during the loads (timeouts too short for the machine's load) show up here.
  out.http_load_term_changes = (await cluster.status(await cluster.leader())).term - termBefore
  console.log(`terms during the HTTP loads: ${out.http_load_term_changes} changes`)
  return out
}

/** The median bucket of the leader's `flotilla_fsync_seconds` histogram, from /metrics. */
async function fsyncMedian(http: HttpClient, url: string): Promise<{ medianMs: number; count: number }> {
  const text = (await http.get<string>(`${url}/metrics`)).body
  const buckets = [...text.matchAll(/^flotilla_fsync_seconds_bucket\{le="([^"]+)"\} (\d+)/gm)].map((m) => ({
    le: m[1] === '+Inf' ? Infinity : Number(m[1]),
    count: Number(m[2]),
  }))
  const count = buckets.at(-1)?.count ?? 0
  const median = buckets.find((b) => b.count >= count / 2)
  return { medianMs: median ? round(median.le * 1000, 2) : 0, count }
}

async function failovers(cluster: TestCluster): Promise<Record<string, number>> {
  const http = cluster.http
  const leader = await cluster.leader()
  await http.send(`${leader.url}/v1/collections/failover`, 'PUT', { dimensions: 4, metric: 'l2sq' })
  const workload = new Workload(
    http,
    { urls: () => cluster.dataPeers.filter((p) => p.running).map((p) => p.url) },
    { writers: 16, keys: 64, collection: 'failover', dimensions: 4, readShare: 0 },
  )
  workload.start()
  const times: number[] = []
  try {
    for (let k = 0; k < KILLS; k++) {
      await until('every peer caught up', () => caughtUp(cluster, http), 120_000)
      await sleep(500)
      const victim = await cluster.leader()
      const killedAt = performance.now()
      await victim.kill()
      const firstAck = await until(
        'a write acknowledged after the kill',
        async () => {
          let first = Infinity
          for (const op of workload.history) if (op.call > killedAt && op.ret < first) first = op.ret
          return first === Infinity ? undefined : first
        },
        30_000,
      )
      times.push(firstAck - killedAt)
      console.log(
        `failover ${k + 1}/${KILLS}: first acknowledged write ${(firstAck - killedAt).toFixed(0)} ms after kill -9`,
      )
      cluster.startPeer(victim)
    }
    await until('every peer caught up', () => caughtUp(cluster, http), 120_000)
  } finally {
    await workload.stop()
  }
  const commit = (await cluster.status(await cluster.leader())).commit
  const ids = [...workload.attempted]
  const states = await Promise.all(
    cluster.dataPeers.map((p) => stateDigest(http, p.url, 'failover', ids, commit)),
  )
  let lost = 0
  for (const id of workload.acked.keys()) if (states.some((s) => !s.present.has(id))) lost++
  const identical = new Set(states.map((s) => s.digest)).size === 1
  console.log(
    `acknowledged writes: ${workload.acked.size}, lost on some peer: ${lost}, replicas identical: ${identical}`,
  )
  times.sort((a, b) => a - b)
  return {
    failover_median_ms: round(percentile(times, 0.5)),
    failover_p90_ms: round(percentile(times, 0.9)),
    failover_max_ms: round(times.at(-1) ?? 0),
    lost_acknowledged: lost,
    replicas_identical: identical ? 1 : 0,
  }
}

async function caughtUp(cluster: TestCluster, http: HttpClient): Promise<boolean> {
  const statuses = await Promise.all(
    cluster.peers.map((p) =>
      http.get<{ applied: number; commit: number; leader: string }>(`${p.url}/v1/status`),
    ),
  )
  const leaderCommit = Math.max(...statuses.map((s) => s.body.commit))
  return statuses.every((s) => s.status === 200 && s.body.leader && s.body.applied >= leaderCommit - 50)
}

/** The same updates through the peer API: three peers in this process, libp2p TCP, storage-fs. */
async function inProcess(): Promise<Record<string, number>> {
  const root = await mkdtemp(join(tmpdir(), 'flotilla-bench-inproc-'))
  const log = pino({ level: 'warn' })
  const procs = await Promise.all([0, 1, 2].map((i) => PeerProcess.create(root, `p${i}`)))
  const running: RunningPeer[] = []
  try {
    for (const p of procs) {
      const others = procs.filter((o) => o !== p).map((o) => o.multiaddr)
      running.push(
        await startPeer(
          {
            ...DEFAULTS,
            data: p.data,
            listen: [`/ip4/127.0.0.1/tcp/${p.tcpPort}`],
            http: '',
            peers: others,
            tickMs: 25,
            electionTicks: 8,
            logLevel: 'warn',
          },
          log,
        ),
      )
    }
    const peers: Peer[] = running.map((r) => r.peer)
    const leader = await until('an in-process leader', async () =>
      peers.find((p) => p.status().raftRole === 'leader'),
    )
    await leader.createCollection('bench', { dimensions: D, metric: 'cos' })
    const c = leader.collection('bench')
    for (let i = 0; i < POINTS; i += 100) {
      await c.upsert(Array.from({ length: 100 }, (_, j) => ({ id: `p${i + j}`, vector: vector(i + j) })))
    }
    const update = (i: number) =>
      peers[i % peers.length]
        .collection('bench')
        .update(`p${i % POINTS}`, metadataOf())
        .then(() => true)
    const out: Record<string, number> = {}
    const termBefore = leader.status().term
    for (const n of [1, 16, 256]) {
      await load(n, 1, update)
      const r = await load(n, SECONDS, update)
      console.log(
        `in-process peer API updates, ${String(n).padStart(3)} in flight: ${round(r.perSecond)} writes/s, p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms`,
      )
      out[`inproc_writes_per_s_${n}`] = round(r.perSecond)
      if (n === 1) out.inproc_write_p50_ms_1 = round(r.p50, 2)
    }
    out.inproc_load_term_changes = Math.max(...peers.map((p) => p.status().term)) - termBefore
    console.log(`terms during the in-process loads: ${out.inproc_load_term_changes} changes`)
    return out
  } finally {
    for (const r of running) await r.close()
    await rm(root, { recursive: true, force: true })
  }
}

console.log(`cluster bench: ${SECONDS} s per load, ${KILLS} failovers (port check ${await freePort()})`)
let figures: Record<string, number> = {}
for (const [flags, run] of [
  [LOAD_FLAGS, httpLoads],
  [FAILOVER_FLAGS, failovers],
] as const) {
  const cluster = await TestCluster.start({ data: 3, args: [...flags] })
  try {
    figures = { ...figures, ...(await run(cluster)) }
  } finally {
    await cluster.stop()
  }
}
const baseline = await inProcess()
const ratio = (a: string, b: string) => round((figures[a] ?? 0) / Math.max(1, baseline[b] ?? 1), 3)
const ratios = {
  ratio_http_inproc_1: ratio('writes_per_s_1', 'inproc_writes_per_s_1'),
  ratio_http_inproc_16: ratio('writes_per_s_16', 'inproc_writes_per_s_16'),
  ratio_http_inproc_256: ratio('writes_per_s_256', 'inproc_writes_per_s_256'),
}
console.log(`HTTP over in-process at 1/16/256 in flight: ${Object.values(ratios).join(' / ')}`)
// The machine's load (other processes) bounds every figure above: report it with them.
const load_avg_1m = round(loadavg()[0], 1)
console.log(`load average (1 min) at the end: ${load_avg_1m}`)
console.log(JSON.stringify({ ...figures, ...baseline, ...ratios, load_avg_1m }))
process.exit(0)
