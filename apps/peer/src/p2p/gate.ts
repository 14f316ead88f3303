import { createHmac, timingSafeEqual } from 'node:crypto'
import { type MembershipGate, membershipGate, serveAdmission } from '@flotilla/transport-libp2p/node'
import type { Libp2p } from '@libp2p/interface'

/** How long a peer that showed the group's token may stay connected before it is a member. */
export const ADMISSION_TTL_MS = 120_000
/** How long a stranger may stay connected to a peer that accepts joiners or tabs. */
export const STRANGER_GRACE_MS = 10_000

export interface GateSettings {
  self: string
  /** The founding members, or null for a peer that joins (or restarts after joining). */
  founders: string[] | null
  relay: boolean
  token: string | undefined
}

/**
 * Who may connect to this peer (see the README, "Who may connect"): the group's members, by
 * PeerId, refused at the handshake otherwise. A peer with a token also lets strangers connect
 * for a few seconds, so that a joiner can present it; a relay with a token does the same for
 * tabs, and reserves slots only for members and peers admitted with an admission token. A relay
 * without a token is open (tabs must reach it before they are members): null, no gate; Raft,
 * address and admin streams are still refused to non-members before a byte is read.
 */
export function createGate(settings: GateSettings): MembershipGate | null {
  if (settings.relay && settings.token === undefined) return null
  const gate = membershipGate({
    members: [...(settings.founders ?? []), settings.self],
    relay: settings.relay,
    acceptStrangers: settings.token !== undefined,
    strangerGraceMs: STRANGER_GRACE_MS,
  })
  // A joiner cannot tell the leader that will add it from a stranger until it is a member.
  if (!settings.founders) gate.openUntilMembers()
  return gate
}

/** A tab's admission token for a relay: HMAC-SHA256 of its PeerId under the group token. */
export function admissionToken(groupToken: string, peer: string): Uint8Array {
  return createHmac('sha256', groupToken).update(peer).digest()
}

/** On a relay with a token: admits tabs that present `admissionToken(token, their PeerId)`. */
export async function serveTabAdmission(node: Libp2p, gate: MembershipGate, token: string): Promise<void> {
  await serveAdmission(node, gate, {
    ttlMs: ADMISSION_TTL_MS,
    verify: (given, peer) => {
      const expected = admissionToken(token, peer)
      return given.length === expected.length && timingSafeEqual(given, expected)
    },
  })
}
