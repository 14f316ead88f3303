import { decodeCbor, encodeCbor } from '../codec/codec.js'

/** A write in the simulator's key-value model. `op` identifies it across retries and duplicates. */
export interface KvWrite {
  op: string
  key: string
  value: string
}

export interface KvValue {
  value: string
  /** Log index of the write that produced it. */
  index: number
}

export class SnapshotCorruptError extends Error {
  readonly code = 'ERR_SNAPSHOT_CORRUPT'
  constructor(size: number) {
    super(`snapshot of ${size} bytes fails its checksum`)
  }
}

/** FNV-1a, 32 bits. */
function checksum(bytes: Uint8Array): number {
  let h = 0x811c9dc5
  for (const b of bytes) h = Math.imul(h ^ b, 0x01000193) >>> 0
  return h
}

export const encodeKvWrite = (w: KvWrite): Uint8Array => encodeCbor([w.op, w.key, w.value])

export function decodeKvWrite(data: Uint8Array): KvWrite | null {
  if (data.length === 0) return null
  const [op, key, value] = decodeCbor<[string, string, string]>(data)
  return { op, key, value }
}

/**
 * The state machine the simulator replicates. Applying is idempotent by index and by op id (a
 * duplicated proposal applies once), the way client sessions work in the real state machine.
 * It keeps every value a key took since the last restore, so that a read can be served as of
 * exactly the index its leader returned (an older index then shows as a stale read).
 */
export class KvStore {
  applied = 0
  /** Normal entries applied, for the witness check. */
  appliedCount = 0
  /** The index of the snapshot this store was restored from: no history below it. */
  private restoredAt = 0
  private data = new Map<string, KvValue>()
  /** Each key's values since the restore, oldest first (the first may be the restored one). */
  private versions = new Map<string, KvValue[]>()
  private ops = new Map<string, number>()

  apply(index: number, data: Uint8Array): { op: string; index: number } | null {
    if (index <= this.applied) return null
    this.applied = index
    const w = decodeKvWrite(data)
    if (!w) return null
    this.appliedCount++
    const first = this.ops.get(w.op)
    if (first !== undefined) return { op: w.op, index: first }
    this.ops.set(w.op, index)
    const v = { value: w.value, index }
    this.data.set(w.key, v)
    const versions = this.versions.get(w.key)
    if (versions) versions.push(v)
    else this.versions.set(w.key, [v])
    return { op: w.op, index }
  }

  get(key: string): KvValue | undefined {
    return this.data.get(key)
  }

  /**
   * The key's value as of log index `index` (at or below `applied`). Below the restored
   * snapshot the history is gone: the current value is served then (still a correct read, as
   * `index` is only a lower bound on what the read must reflect).
   */
  getAt(key: string, index: number): KvValue | undefined {
    if (index >= this.applied || index < this.restoredAt) return this.data.get(key)
    const versions = this.versions.get(key)
    if (!versions) return undefined
    for (let i = versions.length - 1; i >= 0; i--) if (versions[i].index <= index) return versions[i]
    return undefined
  }

  /** Index at which `op` was applied, if it was. */
  opIndex(op: string): number | undefined {
    return this.ops.get(op)
  }

  /**
   * The state, then bytes of this replica's own (as a real index's serialization differs between
   * replicas at one index), then a checksum over all of it: a snapshot stitched from two
   * replicas' bytes fails to restore.
   */
  serialize(replica: string): Uint8Array {
    const seed = checksum(new TextEncoder().encode(replica))
    const own = new Uint8Array(200 + (seed % 600)).fill(seed & 0xff)
    const body = encodeCbor([
      this.applied,
      [...this.data.entries()].map(([k, v]) => [k, v.value, v.index]),
      [...this.ops],
      replica,
      own,
    ])
    const out = new Uint8Array(body.length + 4)
    out.set(body)
    new DataView(out.buffer).setUint32(body.length, checksum(body))
    return out
  }

  /** Throws SnapshotCorruptError if the bytes are not one replica's whole snapshot. */
  static restore(bytes: Uint8Array): KvStore {
    const kv = new KvStore()
    if (bytes.length === 0) return kv
    if (bytes.length < 4) throw new SnapshotCorruptError(bytes.length)
    const body = bytes.subarray(0, bytes.length - 4)
    const sum = new DataView(bytes.buffer, bytes.byteOffset, bytes.length).getUint32(bytes.length - 4)
    if (checksum(body) !== sum) throw new SnapshotCorruptError(bytes.length)
    const [applied, data, ops] = decodeCbor<[number, [string, string, number][], [string, number][]]>(body)
    kv.applied = applied
    kv.restoredAt = applied
    for (const [k, value, index] of data) {
      kv.data.set(k, { value, index })
      kv.versions.set(k, [{ value, index }])
    }
    for (const [op, index] of ops) kv.ops.set(op, index)
    return kv
  }
}
