import { type Message, MessageType } from '../raft/messages.js'
import type { Raft } from '../raft/raft.js'
import { dataMatchFor } from '../raft/replication.js'
import type { Rng } from './rng.js'

/**
 * With probability `chance`, sends heartbeat `m`'s Figure 2 twin (below) ahead of it. Both
 * simulators call this, so the rng is drawn at the same point in each.
 */
export function sendPaperTwin(
  m: Message,
  chance: number | undefined,
  rng: Rng,
  raftOf: (id: string) => Raft | undefined,
  send: (twin: Message) => void,
): void {
  if (!chance || m.type !== MessageType.Heartbeat || !rng.chance(chance)) return
  const raft = raftOf(m.from)
  const twin = raft && paperHeartbeat(raft, m)
  if (twin) send(twin)
}

/**
 * The heartbeat of Raft's Figure 2, which a correct leader may send: an append with no entries
 * at the follower's next index, carrying the leader's whole commit index. Our leader sends etcd's
 * form instead (commit capped at the follower's match, no log check), and with it no follower
 * ever accepts an append over a stale suffix (docs/sim-9a-stale-suffix.md). A follower must be
 * safe under either, and only this form shows whether it caps its commit at what the append
 * verified (planted bug 9a). Undefined once the sender no longer leads the heartbeat's term, or
 * when the entry before the follower's next index is compacted.
 */
export function paperHeartbeat(raft: Raft, heartbeat: Message): Message | undefined {
  if (raft.role !== 'leader' || raft.term !== heartbeat.term || raft.id !== heartbeat.from) return undefined
  const pr = raft.progress.get(heartbeat.to)
  if (!pr) return undefined
  const prev = pr.next - 1
  const logTerm = raft.log.termOrUndefined(prev)
  if (logTerm === undefined) return undefined
  return {
    type: MessageType.App,
    from: raft.id,
    to: heartbeat.to,
    term: raft.term,
    index: prev,
    logTerm,
    entries: [],
    commit: raft.log.committed,
    dataMatch: dataMatchFor(raft, heartbeat.to),
  }
}
