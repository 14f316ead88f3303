import type { Peer } from '@flotilla/core'
import { type Logger, pino } from 'pino'

/** JSON lines on stdout; `level` is pino's (trace, debug, info, warn, error, fatal, silent). */
export function createLogger(level: string): Logger {
  return pino({ level, base: { pid: process.pid } })
}

/** One log line per election, role change, membership change and snapshot. */
export function logPeerEvents(peer: Peer, log: Logger): () => void {
  const off = [
    peer.on('leader', ({ leader, term }) => log.info({ event: 'leader', leader, term }, 'leader changed')),
    peer.on('role', ({ role, term }) => log.info({ event: 'role', role, term }, `now ${role}`)),
    peer.on('membership', ({ joint }) => {
      const members = peer.status().members.map((m) => `${m.id}:${m.kind}`)
      log.info({ event: 'membership', members, joint }, 'membership changed')
    }),
    peer.on('snapshot', ({ kind, index, bytes, peer: to }) =>
      log.info({ event: 'snapshot', kind, index, bytes, peer: to }, `snapshot ${kind}`),
    ),
    peer.on('failed', ({ error }) =>
      log.error({ event: 'failed', err: error }, 'peer failed; restart to recover'),
    ),
    peer.on('closed', () => log.info({ event: 'closed' }, 'peer closed')),
  ]
  return () => {
    for (const f of off) f()
  }
}
