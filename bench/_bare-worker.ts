// Bare usearch in a worker thread (bench/peer.ts runs two side by side: what 2 cores give
// two indexes inserting at once, the most any two replicas could reach).
import { parentPort, workerData } from 'node:worker_threads'
import { bareIngest } from './_bare-ingest.js'
import { mixture } from './_vector-data.js'

const { vectors, dimensions, batch } = workerData.setup as {
  vectors: number
  dimensions: number
  batch: number
}
const data = mixture(dimensions, 64, 0.15, 7).sample(vectors, 11)
parentPort?.once('message', async () => parentPort?.postMessage(await bareIngest(data, dimensions, batch)))
parentPort?.postMessage('ready')
