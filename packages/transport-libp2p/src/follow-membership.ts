import type { Peer } from '@flotilla/core'
import type { MembershipGate } from './gate.js'

export interface FollowMembershipOptions {
  /**
   * Peers allowed whatever the configuration says: a tab's relay must be reachable before the
   * tab is a member, and after the group removed it.
   */
  alwaysAllow?: Iterable<string>
}

/**
 * Keeps `gate`'s members equal to the group's configuration plus `peer` itself (and
 * `alwaysAllow`); returns an unsubscribe. A peer that knows no configuration yet (it waits to be
 * added) cannot tell the leader that will add it from a stranger, so its gate stays open until it
 * learns one.
 */
export function followMembership(
  gate: MembershipGate,
  peer: Pick<Peer, 'id' | 'status' | 'on'>,
  options: FollowMembershipOptions = {},
): () => void {
  const always = [...(options.alwaysAllow ?? [])]
  const sync = (): void => {
    const ids = peer.status().members.map((m) => m.id)
    if (ids.length === 0) gate.openUntilMembers()
    else gate.setMembers([...ids, peer.id, ...always])
  }
  sync()
  // A joiner learns its first configuration from a snapshot as well as from entries.
  const offs = [peer.on('membership', sync), peer.on('snapshot', sync)]
  return () => {
    for (const off of offs) off()
  }
}
