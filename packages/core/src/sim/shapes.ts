import type { ConfState } from '../raft/messages.js'
import type { PeerKind } from './cluster.js'
import type { Rng } from './rng.js'

/** A group's starting shape: its peers and the founding membership. */
export interface Shape {
  name: string
  peers: { id: string; kind: PeerKind; priority: number }[]
  conf: ConfState
}

const conf = (voters: string[], learners: string[] = [], witnesses: string[] = []): ConfState => ({
  voters,
  outgoing: [],
  learners,
  learnersNext: [],
  witnesses,
  autoLeave: false,
})
const data = (id: string, priority = 1) => ({ id, kind: 'data' as PeerKind, priority })
const witness = (id: string) => ({ id, kind: 'witness' as PeerKind, priority: 0 })

const SHAPES: Shape[] = [
  {
    name: '3 voters',
    peers: [data('p1'), data('p2'), data('p3'), data('p4')],
    conf: conf(['p1', 'p2', 'p3']),
  },
  {
    name: '5 voters',
    peers: [data('p1'), data('p2'), data('p3'), data('p4'), data('p5')],
    conf: conf(['p1', 'p2', 'p3', 'p4', 'p5']),
  },
  {
    name: '2 data voters + witness',
    peers: [data('p1'), data('p2'), witness('w1')],
    conf: conf(['p1', 'p2', 'w1'], [], ['w1']),
  },
  {
    name: '3 voters + learner',
    peers: [data('p1'), data('p2'), data('p3'), data('p4')],
    conf: conf(['p1', 'p2', 'p3'], ['p4']),
  },
  {
    name: '4 data voters + witness, priorities',
    peers: [data('p1', 2), data('p2', 2), data('p3', 1), data('p4', 1), witness('w1')],
    conf: conf(['p1', 'p2', 'p3', 'p4', 'w1'], [], ['w1']),
  },
  {
    name: '2 data voters + witness + spare',
    peers: [data('p1'), data('p2'), witness('w1'), data('p3')],
    conf: conf(['p1', 'p2', 'w1'], [], ['w1']),
  },
  // Room for multi-member changes: two spares to swap in while two voters go.
  {
    name: '5 voters + 2 spares',
    peers: [data('p1'), data('p2'), data('p3'), data('p4'), data('p5'), data('p6'), data('p7')],
    conf: conf(['p1', 'p2', 'p3', 'p4', 'p5']),
  },
]

export const SHAPE_COUNT = SHAPES.length

/**
 * Drawn only by profiles that name them (so the default seeds keep their shapes): one voter
 * ranked above all others (a tie would let a handover pick an incoming voter first), and spare
 * data peers to swap in.
 */
export const PRIORITY_SHAPES: Shape[] = [
  {
    name: '3 ranked voters + spare',
    peers: [data('p1', 3), data('p2', 2), data('p3', 1), data('p4', 1)],
    conf: conf(['p1', 'p2', 'p3']),
  },
  {
    name: '4 ranked data voters + witness + spare',
    peers: [data('p1', 3), data('p2', 1), data('p3', 2), data('p4', 1), witness('w1'), data('p5', 1)],
    conf: conf(['p1', 'p2', 'p3', 'p4', 'w1'], [], ['w1']),
  },
  {
    name: '5 ranked voters + 2 spares',
    peers: [
      data('p1', 3),
      data('p2', 2),
      data('p3', 2),
      data('p4', 1),
      data('p5', 1),
      data('p6', 1),
      data('p7', 1),
    ],
    conf: conf(['p1', 'p2', 'p3', 'p4', 'p5']),
  },
]

/** The seed's shape: drawn, or pinned by index. */
export function shapeFor(rng: Rng, pinned?: number): Shape {
  const drawn = rng.int(0, SHAPES.length - 1)
  const shape = SHAPES[pinned ?? drawn]
  if (!shape) throw new Error(`unknown shape ${pinned}`)
  return shape
}
