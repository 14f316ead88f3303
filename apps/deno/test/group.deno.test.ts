import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { fileKeyStore, loadOrCreateIdentity } from '@flotilla/transport-libp2p/node'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { afterEach, describe, expect, it } from 'vitest'
import { DENO, type Started, startProgram } from '../../../scripts/runtimes/processes.js'
import { FAST, PeerProcess } from '../../peer/test/support/processes.js'
import { DENO_PEER_PERMISSIONS } from '../src/permissions.js'

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url))
const D = 8
const vec = (i: number) => Array.from({ length: D }, (_, j) => Math.cos(i * 5 + j))

interface Answer {
  role?: string
  raftRole?: string
  leader?: string | null
  applied?: number
  hits?: { id: string }[]
  index?: number
  error?: { code: string }
}

let nodes: PeerProcess[] = []
let deno: Started | undefined
let dir = ''
afterEach(async () => {
  await deno?.stop()
  await Promise.all(nodes.map((n) => n.kill()))
  nodes = []
  rmSync(dir, { recursive: true, force: true })
})

/** A JSON request to a peer's HTTP API (apps/peer's routes): status, body and headers. */
async function send(
  url: string,
  body?: unknown,
  method = body === undefined ? 'GET' : 'POST',
): Promise<{ status: number; body: Answer; headers: Headers }> {
  const res = await fetch(url, { method, body: body === undefined ? undefined : JSON.stringify(body) })
  return { status: res.status, body: (await res.json()) as Answer, headers: res.headers }
}

/**
 * Two Node peers (apps/peer processes, election priority 2) and one Deno peer (priority 1)
 * found a group. The Deno peer starts first: the Node peers need its TCP address.
 */
async function startGroup(denoRole: 'data' | 'witness'): Promise<{ denoId: string; leader: PeerProcess }> {
  dir = mkdtempSync(join(tmpdir(), 'flotilla-deno-group-'))
  nodes = [await PeerProcess.create(dir, 'n0'), await PeerProcess.create(dir, 'n1')]
  const nodeIds = nodes.map((n) => n.id)
  const keyFile = join(dir, 'deno.key')
  const denoId = peerIdFromPrivateKey(await loadOrCreateIdentity(fileKeyStore(keyFile))).toString()
  deno = await startProgram([
    ...DENO,
    'run',
    '--quiet',
    '--no-lock',
    ...DENO_PEER_PERMISSIONS,
    MAIN,
    JSON.stringify({
      keyFile,
      dataDir: join(dir, 'deno-data'),
      host: '127.0.0.1',
      tcpPort: 0,
      wsPort: 0,
      httpPort: 0,
      contacts: nodes.map((n) => ({ id: n.id, addrs: [n.multiaddr] })),
      role: denoRole,
      bootstrap:
        denoRole === 'data'
          ? { voters: [...nodeIds, denoId], witnesses: [] }
          : { voters: nodeIds, witnesses: [denoId] },
      priorities: Object.fromEntries(nodeIds.map((id) => [id, 2])),
    }),
  ])
  expect(deno.hello.id).toBe(denoId)
  const tcp = (deno.hello.addrs as string[]).find((a) => /^\/ip4\/127\.0\.0\.1\/tcp\/\d+(\/p2p\/|$)/.test(a))
  if (!tcp) throw new Error(`the Deno peer listens on no TCP address: ${deno.hello.addrs}`)
  const denoAddr = tcp.includes('/p2p/') ? tcp : `${tcp}/p2p/${denoId}`
  for (const n of nodes) {
    const others = nodes.filter((o) => o !== n).flatMap((o) => ['--peer', o.multiaddr])
    n.start([...others, denoRole === 'data' ? '--peer' : '--witness', denoAddr, '--priority', '2', ...FAST])
  }
  // Node peers have the higher election priority: a Deno peer (or witness) that wins an election
  // hands leadership over, so wait for a Node leader that both Node peers know.
  const leaderId = await until('a Node leader both Node peers know', async () => {
    const statuses = await Promise.all(nodes.map((n) => send(`${n.url}/v1/status`).catch(() => undefined)))
    const leader = statuses[0]?.body.leader
    const agreed = leader && statuses.every((s) => s?.body.leader === leader)
    return agreed && leader !== denoId ? leader : undefined
  }).catch((err: Error) => {
    throw new Error(`${err.message}\n${nodes.map(lastWords).join('\n')}`)
  })
  const leader = nodes.find((n) => n.id === leaderId)
  if (!leader) throw new Error(`${leaderId} is not a Node peer`)
  return { denoId, leader }
}

/** Whether a Node peer still runs, and the end of what it printed: why a group did not form. */
function lastWords(n: PeerProcess): string {
  return `${n.id} (${n.running ? 'running' : 'exited'}):\n${n.output.split('\n').slice(-15).join('\n')}`
}

/** A request to the Deno peer's HTTP API. */
const ask = (path: string, body?: unknown) => send(`http://127.0.0.1:${deno?.hello.httpPort}${path}`, body)

/** Writes through a Node peer's HTTP API, retrying while leadership settles. */
async function write(n: PeerProcess, path: string, body: unknown, method = 'POST'): Promise<Answer> {
  return until(`${method} ${path} on ${n.id}`, async () => {
    const r = await send(`${n.url}${path}`, body, method).catch(() => undefined)
    return r && r.status < 300 ? r.body : undefined
  })
}

async function until<T>(
  what: string,
  fn: () => Promise<T | undefined> | T | undefined,
  ms = 30_000,
): Promise<T> {
  const end = Date.now() + ms
  while (Date.now() < end) {
    const v = await fn()
    if (v !== undefined) return v
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`timed out waiting for ${what}`)
}

describe('a Deno peer in a group with two Node peer processes', () => {
  it('votes, serves searches at every consistency level, and survives the loss of the Node leader', async () => {
    const { denoId, leader } = await startGroup('data')
    await write(leader, '/v1/collections/docs', { dimensions: D, metric: 'cos' }, 'PUT')
    const points = Array.from({ length: 20 }, (_, i) => ({ id: `d${i}`, vector: vec(i), metadata: { i } }))
    await write(leader, '/v1/collections/docs/points', { points })
    const onLeader = await write(leader, '/v1/collections/docs/search?consistency=linearizable', {
      vector: vec(4),
      k: 5,
    })
    const expected = onLeader.hits?.map((h) => h.id)
    expect(expected).toHaveLength(5)

    for (const [level, served] of [
      ['consistency=linearizable', 'linearizable'],
      ['consistency=lease', 'lease'],
      ['consistency=local', 'local'],
      ['maxStalenessMs=5000', 'bounded'],
    ]) {
      const found = await until(`a ${level} search on the Deno peer`, async () => {
        const r = await ask(`/v1/collections/docs/search?${level}`, { vector: vec(4), k: 5 })
        return r.status === 200 && r.body.hits?.length === 5 ? r : undefined
      })
      expect(found.headers.get('Flotilla-Served-By'), level).toBe(denoId)
      expect(found.headers.get('Flotilla-Consistency'), level).toBe(served)
      expect(Number(found.headers.get('Flotilla-Read-Index')), level).toBe(found.body.index)
      expect(
        found.body.hits?.map((h) => h.id),
        level,
      ).toEqual(expected)
    }
    const bounded = await ask('/v1/collections/docs/search?maxStalenessMs=5000', { vector: vec(4), k: 5 })
    expect(Number(bounded.headers.get('Flotilla-Staleness-Ms'))).toBeLessThanOrEqual(5000)

    // Lose the Node leader: the other Node peer needs the Deno peer's vote to lead.
    await leader.kill()
    const survivor = nodes.find((n) => n !== leader)!
    const next = await until('a new leader', async () => {
      const l = (await send(`${survivor.url}/v1/status`)).body.leader
      return l && l !== leader.id ? l : undefined
    })
    expect([survivor.id, denoId]).toContain(next)
    const { index } = await write(survivor, '/v1/collections/docs/points', {
      points: [{ id: 'after', vector: vec(77), metadata: { after: true } }],
    })
    const after = await ask(`/v1/collections/docs/search?consistency=linearizable&minIndex=${index}`, {
      vector: vec(77),
      k: 1,
    })
    expect(after.status, JSON.stringify(after.body)).toBe(200)
    expect(after.body.hits?.[0].id).toBe('after')
  })

  it('acts as a witness: keeps a quorum with one Node peer, serves no reads', async () => {
    const { leader } = await startGroup('witness')
    const status = await ask('/v1/status')
    expect(status.body.role).toBe('witness')
    await write(leader, '/v1/collections/docs', { dimensions: D, metric: 'cos' }, 'PUT')
    await write(leader, '/v1/collections/docs/points', { points: [{ id: 'a', vector: vec(1) }] })
    const refused = await ask('/v1/collections/docs/search?consistency=local', { vector: vec(1), k: 1 })
    expect(refused.body.error?.code).toBe('ERR_WITNESS')

    // Lose the Node leader: the other Node peer and the witness are a quorum of three.
    await leader.kill()
    const survivor = nodes.find((n) => n !== leader)!
    await until('the surviving Node peer to lead', async () =>
      (await send(`${survivor.url}/v1/status`)).body.raftRole === 'leader' ? true : undefined,
    )
    const { index } = await write(survivor, '/v1/collections/docs/points', {
      points: [{ id: 'b', vector: vec(2) }],
    })
    expect(index).toBeGreaterThan(0)
    const hits = await send(`${survivor.url}/v1/collections/docs/search?consistency=linearizable`, {
      vector: vec(2),
      k: 1,
    })
    expect(hits.body.hits?.[0].id).toBe('b')
  })
})
