import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Peer } from '@flotilla/core'
import { fileKeyStore, loadOrCreateIdentity } from '@flotilla/transport-libp2p/node'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { afterEach, describe, expect, it } from 'vitest'
import { DENO, type Started, startProgram } from '../../../scripts/runtimes/processes.js'
import { type NodeGroup, startNodeGroup } from '../../edge/test/support/node-group.js'
import { DENO_PEER_PERMISSIONS } from '../src/permissions.js'

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url))
const D = 8
const vec = (i: number) => Array.from({ length: D }, (_, j) => Math.cos(i * 5 + j))

interface Answer {
  role?: string
  leader?: string | null
  applied?: number
  peer?: string
  hits?: { id: string }[]
  index?: number
  error?: { code: string }
}

let group: NodeGroup | undefined
let deno: Started | undefined
let dir = ''
afterEach(async () => {
  await deno?.stop()
  await group?.close()
  rmSync(dir, { recursive: true, force: true })
})

/** Two Node peers (in this process) and one Deno peer (its own process) found a group. */
async function startGroup(
  denoRole: 'data' | 'witness',
): Promise<{ denoId: string; node: (id: string) => Peer }> {
  dir = mkdtempSync(join(tmpdir(), 'flotilla-deno-group-'))
  const keyFile = join(dir, 'deno.key')
  const denoId = peerIdFromPrivateKey(await loadOrCreateIdentity(fileKeyStore(keyFile))).toString()
  group = await startNodeGroup(2, {
    ...(denoRole === 'data' ? { extraVoters: [denoId] } : { witnesses: [denoId] }),
    nodePriority: 2,
    async beforeOpen(contacts) {
      const nodeIds = contacts.map((c) => c.id)
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
          contacts,
          role: denoRole,
          bootstrap:
            denoRole === 'data'
              ? { voters: [...nodeIds, denoId], witnesses: [] }
              : { voters: nodeIds, witnesses: [denoId] },
          priorities: Object.fromEntries(nodeIds.map((id) => [id, 2])),
        }),
      ])
      return [{ id: String(deno.hello.id), addrs: deno.hello.addrs as string[] }]
    },
  })
  expect(deno?.hello.id).toBe(denoId)
  const node = (id: string) => {
    const p = group?.peers.find((x) => x.status().id === id && x.status().state === 'running')
    if (!p) throw new Error(`${id} is not a running Node peer`)
    return p
  }
  return { denoId, node }
}

async function ask(path: string, body?: unknown): Promise<{ status: number; body: Answer }> {
  const res = await fetch(`http://127.0.0.1:${deno?.hello.httpPort}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  return { status: res.status, body: (await res.json()) as Answer }
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

describe('a Deno peer in a group with two Node peers', () => {
  it('votes, serves searches at every consistency level, and survives the loss of the Node leader', async () => {
    const { denoId, node } = await startGroup('data')
    const leaderId = await group!.leaderId()
    expect(leaderId).not.toBe(denoId) // Node peers have the higher election priority
    const leader = node(leaderId)
    await leader.createCollection('docs', { dimensions: D, metric: 'cos' })
    for (let i = 0; i < 20; i++) await leader.collection('docs').upsert(`d${i}`, vec(i), { i })
    const expected = (await leader.collection('docs').search(vec(4), { k: 5 })).hits.map((h) => h.id)

    for (const level of [
      'consistency=linearizable',
      'consistency=lease',
      'consistency=local',
      'maxStalenessMs=5000',
    ]) {
      const found = await until(`a ${level} search on the Deno peer`, async () => {
        const r = await ask(`/v1/collections/docs/search?${level}`, { vector: vec(4), k: 5 })
        return r.status === 200 && r.body.hits?.length === 5 ? r.body : undefined
      })
      expect(found.peer, level).toBe(denoId)
      expect(
        found.hits?.map((h) => h.id),
        level,
      ).toEqual(expected)
    }

    // Lose the Node leader: the other Node peer needs the Deno peer's vote to lead.
    await leader.close()
    const survivor = group!.peers.find((p) => p.status().state === 'running')!
    const next = await until('a new leader', () => {
      const l = survivor.status().leader
      return l && l !== leaderId ? l : undefined
    })
    expect([survivor.status().id, denoId]).toContain(next)
    const { index } = await survivor.collection('docs').upsert('after', vec(77), { after: true })
    const after = await ask(`/v1/collections/docs/search?consistency=linearizable&minIndex=${index}`, {
      vector: vec(77),
      k: 1,
    })
    expect(after.status, JSON.stringify(after.body)).toBe(200)
    expect(after.body.hits?.[0].id).toBe('after')
  })

  it('acts as a witness: keeps a quorum with one Node peer, serves no reads', async () => {
    const { denoId, node } = await startGroup('witness')
    const leaderId = await group!.leaderId()
    expect(leaderId).not.toBe(denoId)
    const status = await ask('/v1/status')
    expect(status.body.role).toBe('witness')
    const leader = node(leaderId)
    await leader.createCollection('docs', { dimensions: D, metric: 'cos' })
    await leader.collection('docs').upsert('a', vec(1))
    const refused = await ask('/v1/collections/docs/search?consistency=local', { vector: vec(1), k: 1 })
    expect(refused.body.error?.code).toBe('ERR_WITNESS')

    // Lose the Node leader: the other Node peer and the witness are a quorum of three.
    await leader.close()
    const survivor = group!.peers.find((p) => p.status().state === 'running')!
    await until('the surviving Node peer to lead', () =>
      survivor.status().raftRole === 'leader' ? true : undefined,
    )
    const { index } = await survivor.collection('docs').upsert('b', vec(2))
    expect(index).toBeGreaterThan(0)
    const hits = await survivor.collection('docs').search(vec(2), { k: 1 })
    expect(hits.hits[0].id).toBe('b')
  })
})
