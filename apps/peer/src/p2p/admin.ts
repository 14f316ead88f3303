import { timingSafeEqual } from 'node:crypto'
import { type MemberKind, type Peer, PeerError, type PeerErrorCode } from '@flotilla/core'
import type { Libp2p, PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import type { MemberAdmin } from '../http/members.js'
import type { AddressBook } from './address-book.js'
import { request, serve } from './request.js'

export const ADMIN_PROTOCOL = '/flotilla/admin/1.0.0'

type AdminRequest = (
  | { op: 'add'; id: string; as?: MemberKind; addrs?: string[] }
  | { op: 'remove'; id: string }
  | { op: 'transfer'; to?: string }
) & { token?: string; forwarded?: boolean }

type AdminAnswer =
  | { ok: true; index?: number }
  | { ok: false; error: { code: string; message: string; leader?: string; field?: string } }

const TIMEOUT_MS = 30_000

/**
 * Membership changes from any member: the peer API takes them on the leader only, so a
 * follower passes the request on to the leader over `/flotilla/admin/1.0.0` (one hop). A peer
 * that is not a member yet may ask to add itself only with the group's token; without a token,
 * an operator adds it (`members add`, `POST /v1/members`) and only members are heard.
 */
export class GroupAdmin implements MemberAdmin {
  constructor(
    private readonly node: Libp2p,
    private readonly peer: Peer,
    private readonly addresses: AddressBook,
    private readonly token: string | undefined,
    /** Called for a stranger that showed the token: the gate keeps its connection open. */
    private readonly onAdmitted: (id: string) => void = () => {},
  ) {}

  async addMember(id: string, options: { as?: MemberKind; addrs?: string[] }): Promise<{ index: number }> {
    const answer = await this.run({ op: 'add', id, ...options })
    return { index: answer.index ?? 0 }
  }

  async removeMember(id: string): Promise<{ index: number }> {
    return { index: (await this.run({ op: 'remove', id })).index ?? 0 }
  }

  async transferLeadership(to?: string): Promise<void> {
    await this.run(to === undefined ? { op: 'transfer' } : { op: 'transfer', to })
  }

  async listen(): Promise<void> {
    // Strangers are heard only by a peer that has a token for them to show.
    const allow = (from: PeerId) => this.token !== undefined || this.peer.isMember(from.toString())
    await serve(this.node, ADMIN_PROTOCOL, (body, from) => this.answer(body as AdminRequest, from), allow)
  }

  private async answer(req: AdminRequest, from: PeerId): Promise<AdminAnswer> {
    try {
      this.authorize(req, from)
      if (!this.peer.isMember(from.toString())) this.onAdmitted(from.toString())
      return { ok: true, ...(await this.run(req, req.forwarded === true)) }
    } catch (error) {
      const e = error as PeerError
      return {
        ok: false,
        error: { code: e.code ?? 'ERR_INTERNAL', message: e.message, leader: e.leader, field: e.field },
      }
    }
  }

  private authorize(req: AdminRequest, from: PeerId): void {
    if (this.token !== undefined) {
      const given = Buffer.from(req.token ?? '')
      const expected = Buffer.from(this.token)
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        throw new PeerError('ERR_INVALID', 'admin request without the group token', { field: 'token' })
      }
      return
    }
    if (!this.peer.isMember(from.toString())) {
      throw new PeerError('ERR_INVALID', `peer ${from} is not a member`, { field: 'from' })
    }
  }

  /** One membership change at a time on this peer: Raft takes one pending change only. */
  private queue: Promise<unknown> = Promise.resolve()

  private local(req: AdminRequest): Promise<{ index?: number }> {
    const next = this.queue.then(() => this.apply(req))
    this.queue = next.catch(() => {})
    return next
  }

  private async apply(req: AdminRequest): Promise<{ index?: number }> {
    switch (req.op) {
      case 'add':
        if (req.addrs) await this.addresses.learn(req.id, req.addrs)
        return this.peer.addMember(
          req.id,
          req.as ? { as: req.as, timeoutMs: TIMEOUT_MS } : { timeoutMs: TIMEOUT_MS },
        )
      case 'remove':
        return this.peer.removeMember(req.id, { timeoutMs: TIMEOUT_MS })
      case 'transfer':
        await this.peer.transferLeadership(req.to, { timeoutMs: TIMEOUT_MS })
        return {}
    }
  }

  private async run(req: AdminRequest, forwarded = false): Promise<{ index?: number }> {
    try {
      return await this.local(req)
    } catch (error) {
      const leader = error instanceof PeerError && error.code === 'ERR_NOT_LEADER' ? error.leader : undefined
      if (!leader || forwarded || leader === this.peer.id) throw error
      return this.forward(leader, req)
    }
  }

  private async forward(leader: string, req: AdminRequest): Promise<{ index?: number }> {
    const body: AdminRequest = { ...req, forwarded: true }
    if (this.token !== undefined) body.token = this.token
    if (body.op === 'add' && !body.addrs) body.addrs = await this.addresses.addressesOf(body.id)
    const answer = await request<AdminAnswer>(
      this.node,
      peerIdFromString(leader),
      ADMIN_PROTOCOL,
      body,
      TIMEOUT_MS,
    )
    if (answer.ok) return answer.index === undefined ? {} : { index: answer.index }
    const { code, message, ...details } = answer.error
    throw new PeerError(code as PeerErrorCode, message, details)
  }
}
