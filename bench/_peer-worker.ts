// One peer in a worker thread (bench/peer.ts): storage-fs, the native engine, and a transport
// over MessagePorts carrying the real wire codec, so replicas index in parallel as processes would.
import { type MessagePort, parentPort, workerData } from 'node:worker_threads'
import {
  decodeMessage,
  encodeMessage,
  type Message,
  openPeer,
  type PeerEvent,
  type Transport,
} from '@flotilla/core'
import { openFsStorage } from '@flotilla/storage-fs'
import { mixture } from './_vector-data.js'

interface Setup {
  id: string
  role: 'data' | 'witness'
  bootstrap: { voters: string[]; witnesses: string[] }
  dir: string
  ports: Record<string, MessagePort>
  priority: number
}

class PortTransport implements Transport {
  private handler: (m: Message) => void = () => {}
  constructor(
    readonly localId: string,
    private readonly ports: Record<string, MessagePort>,
  ) {
    for (const port of Object.values(ports))
      port.on('message', (bytes: Uint8Array) => this.handler(decodeMessage(bytes)))
  }
  send(m: Message): boolean {
    const port = this.ports[m.to]
    if (!port) return false
    port.postMessage(encodeMessage(m))
    return true
  }
  onMessage(handler: (m: Message) => void): void {
    this.handler = handler
  }
  onPeerEvent(_handler: (e: PeerEvent) => void): void {}
  async close(): Promise<void> {
    for (const port of Object.values(this.ports)) port.close()
  }
}

const setup = (workerData as { setup: Setup }).setup
const peer = await openPeer({
  id: setup.id,
  storage: await openFsStorage({ dir: setup.dir }),
  transport: new PortTransport(setup.id, setup.ports),
  role: setup.role,
  bootstrap: setup.bootstrap,
  engine: { engine: 'native' },
  raft: { tickMs: 50, electionTicks: 20, priority: setup.priority },
  limits: { maxPendingWrites: 4096 },
})

type Request =
  | { cmd: 'status' }
  | { cmd: 'ingest'; vectors: number; dimensions: number; batch: number; inFlight: number }
  | { cmd: 'applied'; index: number }
  | { cmd: 'close' }
  | { cmd: 'prepare'; vectors: number; dimensions: number }
  | { cmd: 'busy' }

async function ingest(r: Extract<Request, { cmd: 'ingest' }>): Promise<number> {
  const D = r.dimensions
  const data = vectors(r.vectors, D)
  await peer.createCollection('v', { dimensions: D, metric: 'cos' })
  const docs = peer.collection('v')
  let next = 0
  let last = 0
  const worker = async () => {
    while (next < r.vectors) {
      const from = next
      next += r.batch
      const points = []
      for (let i = from; i < Math.min(r.vectors, from + r.batch); i++)
        points.push({ id: `v${i}`, vector: data.subarray(i * D, (i + 1) * D) })
      last = Math.max(last, (await docs.upsert(points)).index)
    }
  }
  await Promise.all(Array.from({ length: r.inFlight }, worker))
  return last
}

// The vectors are generated before the timed run, as the bare baseline's are.
let generated: { key: string; data: Float32Array } | undefined
function vectors(n: number, d: number): Float32Array {
  const key = `${n}x${d}`
  if (generated?.key !== key) generated = { key, data: mixture(d, 64, 0.15, 7).sample(n, 11) }
  return generated.data
}

// How busy this thread was since `prepare`, and how much of that was applying entries.
let eluFrom = performance.eventLoopUtilization()
let applyFrom = 0

parentPort?.on('message', async (req: Request) => {
  try {
    if (req.cmd === 'status') parentPort?.postMessage({ ok: peer.status() })
    else if (req.cmd === 'prepare') {
      vectors(req.vectors, req.dimensions)
      eluFrom = performance.eventLoopUtilization()
      applyFrom = peer.metrics().applySeconds.sum
      parentPort?.postMessage({ ok: true })
    } else if (req.cmd === 'busy') {
      const busy = performance.eventLoopUtilization(eluFrom).utilization
      parentPort?.postMessage({ ok: { busy, applySeconds: peer.metrics().applySeconds.sum - applyFrom } })
    } else if (req.cmd === 'ingest') parentPort?.postMessage({ ok: await ingest(req) })
    else if (req.cmd === 'applied') {
      await peer.collection('v').count({ consistency: 'local', minIndex: req.index, timeoutMs: 600_000 })
      parentPort?.postMessage({ ok: true })
    } else if (req.cmd === 'close') {
      await peer.close({ transfer: false })
      parentPort?.postMessage({ ok: true })
    }
  } catch (err) {
    parentPort?.postMessage({ error: String((err as Error).stack ?? err) })
  }
})
parentPort?.postMessage({ ok: 'ready' })
