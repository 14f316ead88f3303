import type { Command, Metadata } from '../state/commands.js'
import { UnknownCollectionError } from '../state/errors.js'
import type { CommandValue } from '../state/state-machine.js'
import type { PeerDriver } from './driver.js'
import { PeerError } from './errors.js'
import type { Proposals } from './proposals.js'
import type { Reads } from './reads.js'
import type { CollectionHandle, Point, ReadOptions, StoredPoint, WriteOptions, WriteResult } from './types.js'

/** Runs a command through the log and shapes the state machine's answer as `{ index, ...value }`. */
export async function runWrite<V>(
  proposals: Proposals,
  cmd: Command,
  options: WriteOptions = {},
): Promise<WriteResult<V>> {
  const { index, value } = await proposals.write(cmd, options)
  return { index, ...(value as (CommandValue & V) | null) } as WriteResult<V>
}

function toVector(v: ArrayLike<number>, field: string): Float32Array {
  if (v instanceof Float32Array) return v
  if (v === null || typeof v !== 'object' || typeof v.length !== 'number')
    throw new PeerError('ERR_INVALID', 'must be an array of numbers', { field })
  return Float32Array.from(v)
}

export function collectionHandle(
  name: string,
  d: PeerDriver,
  proposals: Proposals,
  reads: Reads,
): CollectionHandle {
  const sm = () => d.sm!
  return {
    name,
    upsert(
      idOrPoints: string | Point[],
      vectorOrOptions?: ArrayLike<number> | WriteOptions,
      metadata?: Metadata,
      options?: WriteOptions,
    ): Promise<WriteResult<{ upserted: number }>> {
      if (Array.isArray(idOrPoints)) {
        const items = idOrPoints.map((p, i) => ({
          id: p?.id,
          vector: toVector(p?.vector, `items[${i}].vector`),
          ...(p?.metadata !== undefined ? { metadata: p.metadata } : {}),
        }))
        return runWrite(
          proposals,
          { op: 'upsert', collection: name, items } as Command,
          vectorOrOptions as WriteOptions,
        )
      }
      const item = {
        id: idOrPoints,
        vector: toVector(vectorOrOptions as ArrayLike<number>, 'vector'),
        ...(metadata !== undefined ? { metadata } : {}),
      }
      return runWrite(proposals, { op: 'upsert', collection: name, items: [item] } as Command, options)
    },
    update(id, metadata, options) {
      return runWrite(proposals, { op: 'update', collection: name, id, metadata } as Command, options)
    },
    delete(ids, options) {
      const list = Array.isArray(ids) ? ids : [ids]
      return runWrite(proposals, { op: 'delete', collection: name, ids: list } as Command, options)
    },
    get(id, options: ReadOptions = {}) {
      return reads.read(options, () => {
        const found = sm().get(name, id)
        const point: StoredPoint | null = found
          ? {
              id,
              vector: Float32Array.from(found.vector),
              metadata:
                found.metadata === undefined || found.metadata === null
                  ? null
                  : structuredClone(found.metadata as Metadata),
            }
          : null
        return { point }
      })
    },
    search(vector, options) {
      const query = toVector(vector, 'vector')
      const { k, filter, ef } = options
      // Absent and undefined mean the same to the state machine's search.
      return reads.read(options, () => ({ hits: sm().search(name, query, { k, filter, ef }) }))
    },
    count(options: ReadOptions = {}) {
      return reads.read(options, () => {
        const c = sm().collections.get(name)
        if (!c) throw new UnknownCollectionError('collection', name)
        return { count: c.size }
      })
    },
  }
}
