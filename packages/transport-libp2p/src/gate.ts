import type { ConnectionGater, Libp2p, PeerId } from '@libp2p/interface'

export interface MembershipGateOptions {
  /** PeerId strings allowed from the start. */
  members?: Iterable<string>
  /** Connections one peer may hold to us at once (default 2: one each way while dialling). */
  maxConnectionsPerPeer?: number
  /**
   * Relay mode: accept connections from peers that are not (yet) allowed, so that a tab can
   * reach the relay and present an admission token, but reserve slots and relay only for
   * allowed peers, and close a stranger's connection after `strangerGraceMs`.
   */
  relay?: boolean
  /**
   * Accept strangers' connections for `strangerGraceMs` without running a relay (a peer that
   * takes join requests with a token must let the joiner reach it). Default: `relay`.
   */
  acceptStrangers?: boolean
  /** How long a stranger may stay connected without being admitted (default 10 s). */
  strangerGraceMs?: number
}

/** What a gate refused, counted by `stats()`. */
export interface GateStats {
  /** Inbound connections refused (not allowed, or over the per-peer cap). */
  connectionsRefused: number
  /** Relay reservations refused to peers that are neither members nor admitted. */
  reservationsRefused: number
  /** Relayed connections refused (either end not allowed). */
  relayedRefused: number
  /** Open connections closed because their peer left the membership or never got admitted. */
  connectionsClosed: number
}

/**
 * Who may talk to this peer: the group's members (by PeerId) and, for connections and relay
 * slots only, peers admitted for a while (with an admission token, see `serveAdmission`). One
 * gate serves libp2p's connection gater (refusing strangers before a byte of theirs is read),
 * the relay's reservation and relayed-connection checks, and the transport's `isMember`. The peer driver calls `setMembers` on
 * every membership change; connections of peers that left are closed.
 */
export class MembershipGate {
  private members: Set<string>
  /** Admitted peers and when their admission ends (ms since epoch). */
  private readonly admitted = new Map<string, number>()
  private readonly nodes = new Set<Libp2p>()
  private readonly maxPerPeer: number
  private readonly acceptStrangers: boolean
  /** A peer waiting to be added knows no members yet: anyone may reach it. */
  private open = false
  private readonly graceMs: number
  private readonly counts: GateStats = {
    connectionsRefused: 0,
    reservationsRefused: 0,
    relayedRefused: 0,
    connectionsClosed: 0,
  }

  constructor(options: MembershipGateOptions = {}) {
    this.members = new Set(options.members ?? [])
    this.maxPerPeer = options.maxConnectionsPerPeer ?? 2
    this.acceptStrangers = options.acceptStrangers ?? options.relay ?? false
    this.graceMs = options.strangerGraceMs ?? 10_000
  }

  /** Whether `peer` is in the group's membership. Bound: pass it as `isMember`. */
  readonly isMember = (peer: string): boolean => this.members.has(peer)

  /**
   * Whether `peer` may connect: a member, or admitted and not yet expired. An admitted peer may
   * hold a connection and a relay slot, but sends no Raft messages until it is a member.
   */
  readonly allows = (peer: string): boolean => {
    if (this.open || this.members.has(peer)) return true
    const until = this.admitted.get(peer)
    if (until === undefined) return false
    if (until > Date.now()) return true
    this.admitted.delete(peer)
    return false
  }

  /** Replaces the membership; connections of peers no longer allowed are closed. */
  setMembers(ids: Iterable<string>): void {
    this.members = new Set(ids)
    this.open = false
    this.closeDisallowed()
  }

  /**
   * Lets anyone connect until the next `setMembers`: for a peer that waits to be added and so
   * cannot tell the leader that will add it from a stranger (core's `isMember` does the same).
   */
  openUntilMembers(): void {
    this.open = true
  }

  /** Allows `peer` for `ttlMs` (a joining peer that presented a valid admission token). */
  admit(peer: string, ttlMs: number): void {
    this.admitted.set(peer, Date.now() + ttlMs)
  }

  stats(): GateStats {
    return { ...this.counts }
  }

  /**
   * Hooks for libp2p's `connectionGater`. Inbound connections are refused after the
   * encryption handshake (the first moment the remote's PeerId is proven; WebRTC included),
   * before the muxer starts, so a stranger never gets a stream opened.
   */
  connectionGater(): ConnectionGater {
    const deny = (peer: PeerId): boolean => {
      const id = peer.toString()
      const refused =
        (!this.acceptStrangers && !this.allows(id)) || this.connectionsOf(peer) >= this.maxPerPeer
      if (refused) this.counts.connectionsRefused++
      return refused
    }
    return {
      denyInboundEncryptedConnection: deny,
      denyInboundRelayReservation: (peer) => {
        const refused = !this.allows(peer.toString())
        if (refused) this.counts.reservationsRefused++
        return refused
      },
      // On a relay: relay only between allowed peers, never as a free proxy.
      denyOutboundRelayedConnection: (source, destination) => {
        const refused = !this.allows(source.toString()) || !this.allows(destination.toString())
        if (refused) this.counts.relayedRefused++
        return refused
      },
      // On a tab listening through a relay: only members may dial us through it.
      denyInboundRelayedConnection: (_relay, remote) => {
        const refused = !this.allows(remote.toString())
        if (refused) this.counts.relayedRefused++
        return refused
      },
    }
  }

  /**
   * Lets the gate act on `node`: count connections per peer, close connections of peers that
   * leave, close strangers after the grace period (when it accepts them) and free a peer's relay
   * reservation as soon as it disconnects (libp2p keeps it until it expires). Returns a detach.
   */
  attach(node: Libp2p): () => void {
    this.nodes.add(node)
    const timers = new Set<ReturnType<typeof setTimeout>>()
    const onOpen = (e: CustomEvent<{ remotePeer: PeerId }>): void => {
      if (!this.acceptStrangers || this.allows(e.detail.remotePeer.toString())) return
      const timer = setTimeout(() => {
        timers.delete(timer)
        this.closeIfDisallowed(node, e.detail.remotePeer)
      }, this.graceMs)
      timers.add(timer)
    }
    const onDisconnect = (e: CustomEvent<PeerId>): void => releaseReservation(node, e.detail)
    node.addEventListener('connection:open', onOpen as EventListener)
    node.addEventListener('peer:disconnect', onDisconnect)
    return () => {
      this.nodes.delete(node)
      for (const t of timers) clearTimeout(t)
      node.removeEventListener('connection:open', onOpen as EventListener)
      node.removeEventListener('peer:disconnect', onDisconnect)
    }
  }

  private connectionsOf(peer: PeerId): number {
    let n = 0
    for (const node of this.nodes) n += node.getConnections(peer).length
    return n
  }

  private closeDisallowed(): void {
    for (const node of this.nodes) {
      for (const c of node.getConnections()) this.closeIfDisallowed(node, c.remotePeer)
    }
  }

  private closeIfDisallowed(node: Libp2p, peer: PeerId): void {
    if (this.allows(peer.toString())) return
    for (const c of node.getConnections(peer)) {
      this.counts.connectionsClosed++
      c.abort(new Error(`peer ${peer.toString()} is not a member`))
    }
  }
}

/**
 * The circuit-relay server keeps a reservation until its TTL even after its holder has gone,
 * so throwaway identities could hold every slot. It has no public API to drop one: reach its
 * store if it is there, and do nothing otherwise (short TTLs still bound the damage).
 */
function releaseReservation(node: Libp2p, peer: PeerId): void {
  const relay = (node.services as Record<string, unknown>).relay as
    | { reservationStore?: { removeReservation?: (p: PeerId) => void } }
    | undefined
  relay?.reservationStore?.removeReservation?.(peer)
}

export function membershipGate(options?: MembershipGateOptions): MembershipGate {
  return new MembershipGate(options)
}
