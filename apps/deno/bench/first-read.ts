// Run by `npm run bench -- runtimes`: how long a Deno peer and a workerd Durable Object peer take
// from their start to their first bounded-staleness read, joining a running two-peer Node group
// as learners. Prints one JSON line: { deno_first_read_ms, workerd_first_read_ms, ... }.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { fileKeyStore, loadOrCreateIdentity } from '@flotilla/transport-libp2p/node'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { DENO, startProgram } from '../../../scripts/runtimes/processes.js'
import { bundleWorker, startWorkerd } from '../../../scripts/runtimes/workerd.js'
import { startNodeGroup } from '../../edge/test/support/node-group.js'
import { DENO_PEER_PERMISSIONS } from '../src/permissions.js'

const D = 64
const vec = (i: number) => Array.from({ length: D }, (_, j) => Math.sin(i * 3 + j))
const dir = mkdtempSync(join(tmpdir(), 'flotilla-first-read-'))
const keyFile = join(dir, 'deno.key')
const denoId = peerIdFromPrivateKey(await loadOrCreateIdentity(fileKeyStore(keyFile))).toString()

const group = await startNodeGroup(2)
const leaderId = await group.leaderId()
const leader = group.peers.find((p) => p.status().id === leaderId)
if (!leader) throw new Error('the leader is not a Node peer')
await leader.createCollection('docs', { dimensions: D, metric: 'cos' })
await leader
  .collection('docs')
  .upsert(Array.from({ length: 1000 }, (_, i) => ({ id: `d${i}`, vector: vec(i) })))

/** Polls a bounded read until it answers; returns when it did. */
async function firstRead(url: string): Promise<number> {
  for (;;) {
    const res = await fetch(url, { method: 'POST', body: JSON.stringify({ vector: vec(1), k: 3 }) }).catch(
      () => null,
    )
    if (res?.status === 200) return performance.now()
    await new Promise((r) => setTimeout(r, 10))
  }
}

// Deno: from spawning the process to its first answer.
const denoStart = performance.now()
group.members.add(denoId)
const deno = await startProgram([
  ...DENO,
  'run',
  '--quiet',
  '--no-lock',
  ...DENO_PEER_PERMISSIONS,
  fileURLToPath(new URL('../src/main.ts', import.meta.url)),
  JSON.stringify({
    keyFile,
    dataDir: join(dir, 'deno-data'),
    host: '127.0.0.1',
    tcpPort: 0,
    wsPort: 0,
    httpPort: 0,
    contacts: group.contacts(),
  }),
])
const denoUp = performance.now()
for (const node of group.nodes) {
  await node.peerStore.merge(peerIdFromString(denoId), {
    multiaddrs: (deno.hello.addrs as string[]).map((a) => multiaddr(a)),
  })
}
await group.addMember(denoId, 'learner')
const denoRead = await firstRead(
  `http://127.0.0.1:${deno.hello.httpPort}/v1/collections/docs/search?maxStalenessMs=1000`,
)
await deno.stop()

// workerd: from starting workerd (bundle ready) to the Durable Object's first answer.
const script = await bundleWorker(fileURLToPath(new URL('../../edge/src/worker.ts', import.meta.url)))
const edgeStart = performance.now()
const workerd = await startWorkerd(
  script,
  { PEER: 'FlotillaEdgePeer' },
  { FLOTILLA_INSECURE_LOCAL_DIALS: '1' },
)
const joined = (await (
  await fetch(`${workerd.url}/peer/bench/join`, {
    method: 'POST',
    body: JSON.stringify({ contacts: group.contacts() }),
  })
).json()) as { id: string }
const edgeUp = performance.now()
group.members.add(joined.id)
await group.addMember(joined.id, 'learner')
const edgeRead = await firstRead(`${workerd.url}/peer/bench/v1/collections/docs/search?maxStalenessMs=1000`)
await workerd.stop()
await group.close()
rmSync(dir, { recursive: true, force: true })

const ms = (x: number) => Math.round(x)
console.log(
  JSON.stringify({
    deno_first_read_ms: ms(denoRead - denoStart),
    deno_process_up_ms: ms(denoUp - denoStart),
    workerd_first_read_ms: ms(edgeRead - edgeStart),
    workerd_joined_ms: ms(edgeUp - edgeStart),
    entries_replicated: leader.status().commit,
  }),
)
process.exit(0)
