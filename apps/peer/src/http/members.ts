import type { MemberKind, Peer, PeerId } from '@flotilla/core'
import { Hono } from 'hono'
import { badInput } from './errors.js'
import { jsonBody, stringAt } from './params.js'

/** Membership operations: the peer's own, or ones that reach the leader from any member. */
export interface MemberAdmin {
  /** `addrs`: multiaddrs where the new member listens, so that the group can reach it. */
  addMember(
    id: PeerId,
    options: { as?: MemberKind; addrs?: string[]; timeoutMs?: number },
  ): Promise<{ index: number }>
  removeMember(id: PeerId, options?: { timeoutMs?: number }): Promise<{ index: number }>
  transferLeadership(to?: PeerId, options?: { timeoutMs?: number }): Promise<void>
}

const KINDS: MemberKind[] = ['voter', 'learner', 'witness']

function kindAt(value: unknown): MemberKind | undefined {
  if (value === undefined) return undefined
  if (!KINDS.includes(value as MemberKind)) throw badInput('as', `must be one of ${KINDS.join(', ')}`)
  return value as MemberKind
}

function addrsAt(value: unknown): string[] | undefined {
  if (value === undefined) return undefined
  if (!Array.isArray(value)) throw badInput('addrs', 'must be an array of multiaddr strings')
  return value.map((a, i) => stringAt(a, `addrs[${i}]`))
}

/** `/v1/members` (list, add, remove) and `/v1/leader/transfer`. */
export function memberRoutes(peer: Peer, admin: MemberAdmin): Hono {
  const app = new Hono()

  app.get('/members', (c) => {
    const { members, joint, leader } = peer.status()
    return c.json({ members, joint, leader })
  })

  app.post('/members', async (c) => {
    const body = await jsonBody(c)
    const id = stringAt(body.id, 'id')
    const options: { as?: MemberKind; addrs?: string[] } = {}
    const as = kindAt(body.as)
    if (as) options.as = as
    const addrs = addrsAt(body.addrs)
    if (addrs) options.addrs = addrs
    return c.json(await admin.addMember(id, options))
  })

  app.delete('/members/:id', async (c) => c.json(await admin.removeMember(c.req.param('id'))))

  app.post('/leader/transfer', async (c) => {
    const to = (await jsonBody(c, { optional: true })).to
    await admin.transferLeadership(to === undefined ? undefined : stringAt(to, 'to'))
    return c.json({ leader: peer.status().leader })
  })

  return app
}
