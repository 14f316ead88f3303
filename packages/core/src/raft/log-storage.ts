import { RaftError } from './errors.js'
import type { ConfState, Entry, HardState, SnapshotInfo, SnapshotMeta } from './messages.js'

/**
 * The synchronous view of the stable log that the Raft core reads (the driver keeps it in step
 * with durable storage: it appends here what it has synced). Index `snapshot.meta.index` is the
 * last compacted entry; entries start right after it. Of the snapshot it keeps the metadata and
 * size only: its bytes stay in durable storage, read a chunk at a time when sent.
 */
export interface LogStorage {
  initialState(): { hardState: HardState; conf: ConfState }
  firstIndex(): number
  lastIndex(): number
  /** Term at `index`; throws ERR_COMPACTED below the snapshot, ERR_UNAVAILABLE past the end. */
  term(index: number): number
  /** Entries in [lo, hi), at least one, then up to `maxBytes` of data in total. */
  entries(lo: number, hi: number, maxBytes: number): Entry[]
  snapshot(): SnapshotInfo
}

const EMPTY: HardState = { term: 0, vote: '', commit: 0 }

export class MemoryLog implements LogStorage {
  private hard: HardState = EMPTY
  private snap: SnapshotInfo
  private log: Entry[] = []

  /**
   * A log for a new peer. With a membership (a founding member), the log starts from a snapshot
   * at index 1, term 1 that carries it, so a peer that joins later with an empty log cannot
   * match index 0 and is sent a snapshot (and with it the membership). With an empty membership
   * (a peer waiting to be added) the log is empty.
   */
  constructor(conf: ConfState) {
    const founding = conf.voters.length > 0
    this.snap = { meta: { index: founding ? 1 : 0, term: founding ? 1 : 0, conf }, size: 0 }
    if (founding) this.hard = { term: 1, vote: '', commit: 1 }
  }

  initialState(): { hardState: HardState; conf: ConfState } {
    return { hardState: this.hard, conf: this.snap.meta.conf }
  }

  firstIndex(): number {
    return this.snap.meta.index + 1
  }

  lastIndex(): number {
    return this.snap.meta.index + this.log.length
  }

  term(index: number): number {
    const offset = this.snap.meta.index
    if (index === offset) return this.snap.meta.term
    if (index < offset) throw new RaftError('ERR_COMPACTED', `index ${index} is compacted`)
    if (index > this.lastIndex()) throw new RaftError('ERR_UNAVAILABLE', `index ${index} is past the end`)
    return this.log[index - offset - 1].term
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    const offset = this.snap.meta.index
    if (lo <= offset) throw new RaftError('ERR_COMPACTED', `index ${lo} is compacted`)
    if (hi > this.lastIndex() + 1) throw new RaftError('ERR_UNAVAILABLE', `index ${hi - 1} is past the end`)
    return limitSize(this.log, lo - offset - 1, hi - offset - 1, maxBytes)
  }

  snapshot(): SnapshotInfo {
    return this.snap
  }

  hardState(): HardState {
    return this.hard
  }

  setHardState(hs: HardState): void {
    this.hard = hs
  }

  /** Appends entries, replacing any conflicting suffix. */
  append(entries: Entry[]): void {
    if (entries.length === 0) return
    const first = entries[0].index
    const offset = this.snap.meta.index
    if (first <= offset) {
      // Entries already covered by the snapshot are skipped.
      const skip = offset + 1 - first
      if (skip >= entries.length) return
      this.append(entries.slice(skip))
      return
    }
    if (first > this.lastIndex() + 1) {
      throw new RaftError('ERR_UNAVAILABLE', `append at ${first} leaves a gap after ${this.lastIndex()}`)
    }
    const keep = first - offset - 1
    if (keep < this.log.length) this.log.length = keep
    for (const e of entries) this.log.push(e)
  }

  /** Installs a snapshot received from the leader: the log restarts after it. */
  applySnapshot(snapshot: SnapshotInfo): void {
    if (snapshot.meta.index <= this.snap.meta.index) {
      throw new RaftError('ERR_SNAPSHOT_OUT_OF_DATE', `snapshot at ${snapshot.meta.index} is not newer`)
    }
    this.snap = snapshot
    this.log = []
  }

  /** Records a snapshot of `size` bytes the application stored at `meta.index` (in the log). */
  createSnapshot(meta: SnapshotMeta, size: number): void {
    if (meta.index <= this.snap.meta.index) return
    if (meta.index > this.lastIndex())
      throw new RaftError('ERR_UNAVAILABLE', `snapshot at ${meta.index} is past the log`)
    if (this.term(meta.index) !== meta.term)
      throw new RaftError('ERR_INVALID_CONFIG', 'snapshot term mismatch')
    const drop = meta.index - this.snap.meta.index
    this.snap = { meta, size }
    this.log = this.log.slice(drop)
  }
}

export function entrySize(e: Entry): number {
  return e.data.length + 24
}

function limitSize(log: Entry[], from: number, to: number, maxBytes: number): Entry[] {
  let size = 0
  let end = from
  while (end < to) {
    size += entrySize(log[end])
    if (end > from && size > maxBytes) break
    end++
  }
  return log.slice(from, end)
}
