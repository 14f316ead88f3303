import { type Command, createStateMachine, encodeCommand, type StateMachine } from '../../src/state/index.js'
import type { Engine } from '../../src/vector/index.js'
import { clustered, row } from '../vector/data.js'

/** Applies commands at consecutive indexes through the byte path Raft will use. */
export function applyAll(sm: StateMachine, cmds: Command[]) {
  return cmds.map((cmd) => sm.apply(sm.lastApplied + 1, encodeCommand(cmd)))
}

export async function machineWithDocs(engine: Engine, n = 200, d = 8): Promise<StateMachine> {
  const sm = await createStateMachine({ engine })
  const data = clustered(n, d, 31)
  applyAll(sm, [
    { op: 'create', name: 'docs', options: { dimensions: d, metric: 'cos' } },
    {
      op: 'upsert',
      collection: 'docs',
      items: Array.from({ length: n }, (_, i) => ({
        id: `doc-${i}`,
        vector: Float32Array.from(row(data, i, d)),
        metadata: { i, group: i % 10, tag: i % 2 === 0 ? 'even' : 'odd' },
      })),
    },
  ])
  return sm
}

export const vec = (...xs: number[]) => new Float32Array(xs)
