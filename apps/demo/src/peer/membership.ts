import type { Peer } from '@flotilla/core'
import type { Libp2p } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import type { EventLog } from '../event-log.js'
import type { DemoConfig } from './rendezvous.js'
import { short } from './tab-peer.js'

/** A tab with no connection for this long has closed: the leader removes it. */
export const DEPARTED_AFTER_MS = 20_000
const CHECK_EVERY_MS = 1000

/**
 * Tabs come and go; a group that kept every closed tab as a voter would soon lose its
 * quorum. The leader removes tabs it has not been connected to for DEPARTED_AFTER_MS (a
 * frozen or offline tab keeps its connection, or is back well before that). A leader whose
 * tab is hidden hands leadership to a visible tab: hidden tabs' timers are throttled.
 */
export function keepMembership(peer: Peer, node: Libp2p, config: DemoConfig, log: EventLog): () => void {
  const lastSeen = new Map<string, number>()
  let removing = false
  const check = () => {
    const status = peer.status()
    if (status.state !== 'running' || status.raftRole !== 'leader' || removing) return
    const now = performance.now()
    for (const m of status.members) {
      if (m.id === peer.id || m.kind === 'witness' || config.nodeAddrs[m.id]) continue
      if (node.getConnections(peerIdFromString(m.id)).length > 0 || !lastSeen.has(m.id))
        lastSeen.set(m.id, now)
      if (now - (lastSeen.get(m.id) ?? now) < DEPARTED_AFTER_MS) continue
      removing = true
      log.add('group', `removing ${short(m.id)}: unreachable for ${DEPARTED_AFTER_MS / 1000} s`)
      peer
        .removeMember(m.id)
        .then(() => lastSeen.delete(m.id))
        .catch((err) => log.add('error', `could not remove ${short(m.id)}: ${(err as Error).message}`))
        .finally(() => {
          removing = false
        })
      return
    }
  }
  const timer = setInterval(check, CHECK_EVERY_MS)

  // A hidden tab that leads (it was hidden, or was elected while hidden) hands over.
  const handOverIfHidden = () => {
    if (document.visibilityState !== 'hidden' || peer.status().raftRole !== 'leader') return
    log.add('leader', 'this tab is hidden: handing leadership to a visible tab')
    peer.transferLeadership().catch((err) => log.add('error', `transfer failed: ${(err as Error).message}`))
  }
  document.addEventListener('visibilitychange', handOverIfHidden)

  const offs = [
    peer.on('leader', ({ leader, term }) =>
      log.add('leader', leader ? `term ${term}: ${short(leader)} leads` : `term ${term}: no leader`),
    ),
    peer.on('role', ({ role, term }) => {
      log.add('role', `this peer is ${role} (term ${term})`)
      if (role === 'leader') setTimeout(handOverIfHidden, 0)
    }),
    peer.on('membership', ({ joint }) => {
      const members = peer.status().members
      log.add(
        'group',
        `members: ${members.map((m) => `${short(m.id)} ${m.kind}`).join(', ')}${joint ? ' (joint)' : ''}`,
      )
    }),
    peer.on('snapshot', ({ kind, index, bytes, peer: other }) =>
      log.add('snapshot', `snapshot ${kind} at ${index} (${bytes} B)${other ? ` ${short(other)}` : ''}`),
    ),
    peer.on('failed', ({ error }) => log.add('error', `peer failed: ${error.message}`)),
  ]
  return () => {
    clearInterval(timer)
    document.removeEventListener('visibilitychange', handOverIfHidden)
    for (const off of offs) off()
  }
}
