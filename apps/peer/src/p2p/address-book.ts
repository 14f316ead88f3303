import { readFile, rename, writeFile } from 'node:fs/promises'
import type { Peer } from '@flotilla/core'
import type { Libp2p } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { Logger } from 'pino'
import { request, serve } from './request.js'

export const ADDRS_PROTOCOL = '/flotilla/addrs/1.0.0'

type Entry = { id: string; addrs: string[] }

/** A multiaddr without its `/p2p/<id>` tail, as the peer store keeps them. */
export function splitPeerAddr(addr: string): { id: string | null; addr: string } {
  const ma = multiaddr(addr)
  const id = ma.getComponents().findLast((c) => c.name === 'p2p')?.value ?? null
  const bare = id ? addr.slice(0, addr.lastIndexOf('/p2p/')) : addr
  return { id, addr: bare }
}

/**
 * Where the members listen. Raft ids are PeerIds, but libp2p can only dial a PeerId whose
 * addresses it knows: founders arrive with them, identify teaches what a connection shows, and
 * a peer missing a member's addresses asks another member (`/flotilla/addrs/1.0.0`). What is
 * known is kept in `peers.json` so that a restarted peer finds the group again.
 */
export class AddressBook {
  private saved = ''
  private timer: ReturnType<typeof setInterval> | null = null
  private syncing = false

  constructor(
    private readonly node: Libp2p,
    private readonly file: string,
    private readonly log: Logger,
  ) {}

  /** Adds addresses for `id` (multiaddr strings, with or without the `/p2p/` tail). */
  async learn(id: string, addrs: string[]): Promise<void> {
    if (id === this.node.peerId.toString() || addrs.length === 0) return
    const multiaddrs = addrs.map((a) => multiaddr(splitPeerAddr(a).addr))
    await this.node.peerStore.merge(peerIdFromString(id), { multiaddrs })
  }

  async addressesOf(id: string): Promise<string[]> {
    if (id === this.node.peerId.toString())
      return this.node.getMultiaddrs().map((a) => splitPeerAddr(a.toString()).addr)
    try {
      const p = await this.node.peerStore.get(peerIdFromString(id))
      return p.addresses.map((a) => a.multiaddr.toString())
    } catch {
      return []
    }
  }

  async load(): Promise<void> {
    let entries: Entry[] = []
    try {
      entries = JSON.parse(await readFile(this.file, 'utf8')) as Entry[]
    } catch {
      return // none yet
    }
    for (const e of entries) await this.learn(e.id, e.addrs).catch(() => {})
  }

  /** Answers other members' questions and fills in missing members every `intervalMs`. */
  async start(peer: Peer, intervalMs = 1000): Promise<void> {
    // Where members listen is for members (and a joiner, which knows no members yet).
    await serve(
      this.node,
      ADDRS_PROTOCOL,
      async () => this.entries(peer),
      (from) => peer.isMember(from.toString()),
    )
    this.timer = setInterval(() => void this.sync(peer), intervalMs)
    this.timer.unref?.()
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
  }

  private async entries(peer: Peer): Promise<Entry[]> {
    const ids = new Set([...peer.status().members.map((m) => m.id), this.node.peerId.toString()])
    const out: Entry[] = []
    for (const id of ids) {
      const addrs = await this.addressesOf(id)
      if (addrs.length > 0) out.push({ id, addrs })
    }
    return out
  }

  private async sync(peer: Peer): Promise<void> {
    if (this.syncing) return
    this.syncing = true
    try {
      const status = peer.status()
      const self = this.node.peerId.toString()
      const missing: string[] = []
      for (const m of status.members)
        if (m.id !== self && (await this.addressesOf(m.id)).length === 0) missing.push(m.id)
      if (missing.length > 0) {
        const sources = status.members.map((m) => m.id).filter((id) => id !== self && !missing.includes(id))
        if (status.leader && sources.includes(status.leader)) sources.unshift(status.leader)
        for (const source of sources) {
          try {
            const entries = await request<Entry[]>(
              this.node,
              peerIdFromString(source),
              ADDRS_PROTOCOL,
              {},
              2000,
            )
            for (const e of entries) if (missing.includes(e.id)) await this.learn(e.id, e.addrs)
            this.log.info({ event: 'addresses', from: source, learned: missing }, 'learned member addresses')
            break
          } catch {
            // try the next member
          }
        }
      }
      await this.save(peer)
    } finally {
      this.syncing = false
    }
  }

  private async save(peer: Peer): Promise<void> {
    const entries = (await this.entries(peer)).filter((e) => e.id !== this.node.peerId.toString())
    const text = JSON.stringify(entries)
    if (text === this.saved) return
    await writeFile(`${this.file}.tmp`, text)
    await rename(`${this.file}.tmp`, this.file)
    this.saved = text
  }
}
