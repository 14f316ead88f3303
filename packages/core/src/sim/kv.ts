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

export const encodeKvWrite = (w: KvWrite): Uint8Array => encodeCbor([w.op, w.key, w.value])

export function decodeKvWrite(data: Uint8Array): KvWrite | null {
  if (data.length === 0) return null
  const [op, key, value] = decodeCbor<[string, string, string]>(data)
  return { op, key, value }
}

/**
 * The state machine the simulator replicates. Applying is idempotent by index and by op id (a
 * duplicated proposal applies once), the way client sessions work in the real state machine.
 */
export class KvStore {
  applied = 0
  /** Normal entries applied, for the witness check. */
  appliedCount = 0
  private data = new Map<string, KvValue>()
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
    this.data.set(w.key, { value: w.value, index })
    return { op: w.op, index }
  }

  get(key: string): KvValue | undefined {
    return this.data.get(key)
  }

  /** Index at which `op` was applied, if it was. */
  opIndex(op: string): number | undefined {
    return this.ops.get(op)
  }

  serialize(): Uint8Array {
    return encodeCbor([
      this.applied,
      [...this.data.entries()].map(([k, v]) => [k, v.value, v.index]),
      [...this.ops],
    ])
  }

  static restore(bytes: Uint8Array): KvStore {
    const kv = new KvStore()
    if (bytes.length === 0) return kv
    const [applied, data, ops] = decodeCbor<[number, [string, string, number][], [string, number][]]>(bytes)
    kv.applied = applied
    for (const [k, value, index] of data) kv.data.set(k, { value, index })
    for (const [op, index] of ops) kv.ops.set(op, index)
    return kv
  }
}
