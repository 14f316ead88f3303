import { emptyConfState } from '../raft/confchange.js'
import { MemoryLog } from '../raft/log-storage.js'
import type { ConfState } from '../raft/messages.js'
import type { Storage } from '../storage/storage.js'
import { PeerError } from './errors.js'
import type { Bootstrap } from './types.js'

/**
 * What a peer starts from: its log mirrored in memory (the snapshot's metadata and size only) and
 * the index of the stored snapshot the state machine restores (see restoreState).
 */
export interface Recovered {
  log: MemoryLog
  snapshotIndex: number
  /** True when this start created the group's first state (a founding member's first start). */
  founded: boolean
}

export function bootstrapConf(b: Bootstrap): ConfState {
  const witnesses = b.witnesses ?? []
  const learners = b.learners ?? []
  const voters = [...b.voters, ...witnesses]
  const seen = new Set<string>()
  for (const id of [...voters, ...learners]) {
    if (typeof id !== 'string' || id === '')
      throw new PeerError('ERR_INVALID', 'bootstrap: member ids must be non-empty strings', {
        field: 'bootstrap',
      })
    if (seen.has(id))
      throw new PeerError('ERR_INVALID', `bootstrap: ${id} is listed twice`, { field: 'bootstrap' })
    seen.add(id)
  }
  if (b.voters.length === 0)
    throw new PeerError('ERR_INVALID', 'bootstrap: at least one data voter is needed', {
      field: 'bootstrap.voters',
    })
  return { ...emptyConfState(), voters, witnesses, learners }
}

/**
 * Loads durable state into the in-memory log Raft reads. A founding member's first start writes
 * the group's first snapshot (membership at index 1, term 1) durably before Raft runs.
 */
export async function recover(storage: Storage, bootstrap: Bootstrap | undefined): Promise<Recovered> {
  const stored = await storage.load()
  const empty = stored.hardState.term === 0 && !stored.snapshot && stored.lastIndex === 0
  if (empty) {
    const log = new MemoryLog(bootstrap ? bootstrapConf(bootstrap) : emptyConfState())
    if (bootstrap) {
      const snap = log.snapshot()
      await storage.writeSnapshot(snap.meta, [], { replaceLog: true })
      await storage.save({ hardState: log.hardState() })
    }
    return {
      log,
      snapshotIndex: log.snapshot().meta.index,
      founded: !!bootstrap,
    }
  }
  const log = new MemoryLog(emptyConfState())
  let snapshotIndex = 0
  if (stored.snapshot) {
    const snap = await storage.readSnapshot()
    if (!snap) throw new PeerError('ERR_FAILED', 'storage lists a snapshot but holds none')
    snapshotIndex = snap.meta.index
    if (snapshotIndex > 0) log.applySnapshot({ meta: snap.meta, size: snap.size })
  }
  if (stored.lastIndex >= stored.firstIndex)
    log.append(await storage.entries(stored.firstIndex, stored.lastIndex + 1))
  log.setHardState(stored.hardState)
  return { log, snapshotIndex, founded: false }
}
