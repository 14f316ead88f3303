/**
 * A victim peer for hostile-peer tests and the hostile bench: a real libp2p node behind a
 * membership gate, our transport, and a real Raft node stepping whatever the transport hands it.
 * Beside it: a leader (a member that keeps it in term 2), a hostile member that writes raw
 * frames, and strangers.
 */
import {
  type ConfState,
  encodeCbor,
  encodeMessage,
  MemoryLog,
  type Message,
  MessageType,
  RawNode,
} from '@flotilla/core'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Libp2p, PrivateKey, Stream } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { createLibp2p } from 'libp2p'
import {
  createLibp2pTransport,
  encodeFrame,
  type Libp2pTransport,
  type MembershipGate,
  membershipGate,
  RAFT_PROTOCOL,
} from '../../src/index.js'
import { nodePeer } from '../../src/node/index.js'

export const TCP_ONLY = {
  host: '127.0.0.1',
  wsPort: false,
  quicPort: false,
  webrtcDirectPort: false,
} as const

export interface Identity {
  key: PrivateKey
  id: string
}

export async function identity(): Promise<Identity> {
  const key = await generateKeyPair('Ed25519')
  return { key, id: peerIdFromPrivateKey(key).toString() }
}

export interface Victim {
  node: Libp2p
  transport: Libp2pTransport
  gate: MembershipGate
  raft: RawNode
  id: string
}

export interface Group {
  victim: Victim
  leader: { node: Libp2p; transport: Libp2pTransport; id: string }
  hostile: { node: Libp2p; id: string }
  nodes: Libp2p[]
  /** The leader's heartbeat at term 2: the victim follows it. */
  heartbeat(): boolean
  stop(): Promise<void>
}

/** A started TCP node on loopback (optionally behind a gate). */
export async function tcpNode(key?: PrivateKey, gate?: MembershipGate): Promise<Libp2p> {
  return createLibp2p(
    nodePeer({ ...TCP_ONLY, ...(key ? { privateKey: key } : {}), ...(gate ? { gate } : {}) }),
  )
}

/** Victim, leader and hostile member, all members of one group; the victim follows the leader. */
export async function startGroup(options: { strangerGraceMs?: number } = {}): Promise<Group> {
  const [v, l, h] = [await identity(), await identity(), await identity()]
  const members = [v.id, l.id, h.id]
  const gate = membershipGate({ members, ...options })
  const victimNode = await tcpNode(v.key, gate)
  const transport = await createLibp2pTransport(victimNode, { gate })
  const conf: ConfState = {
    voters: members,
    outgoing: [],
    learners: [],
    learnersNext: [],
    witnesses: [],
    autoLeave: false,
  }
  const raft = new RawNode({ id: v.id, storage: new MemoryLog(conf), random: () => 0.5 })
  transport.onMessage((m) => {
    raft.step(m)
    // Ready is drained so that Raft's outbox does not grow over a long run.
    if (raft.hasReady()) {
      raft.ready()
      raft.advance()
    }
  })
  const leaderNode = await tcpNode(l.key)
  const leaderTransport = await createLibp2pTransport(leaderNode, { isMember: (p) => members.includes(p) })
  const hostileNode = await tcpNode(h.key)
  for (const n of [leaderNode, hostileNode]) {
    await n.peerStore.merge(victimNode.peerId, { multiaddrs: victimNode.getMultiaddrs() })
  }
  const nodes = [victimNode, leaderNode, hostileNode]
  const heartbeat = (): boolean =>
    leaderTransport.send({ type: MessageType.Heartbeat, from: l.id, to: v.id, term: 2, commit: 1 })
  return {
    victim: { node: victimNode, transport, gate, raft, id: v.id },
    leader: { node: leaderNode, transport: leaderTransport, id: l.id },
    hostile: { node: hostileNode, id: h.id },
    nodes,
    heartbeat,
    async stop() {
      await transport.close()
      await leaderTransport.close()
      for (const n of nodes) await n.stop()
    },
  }
}

/** A Raft stream from `node` to the victim, written to raw. */
export async function rawStream(node: Libp2p, victim: Victim): Promise<Stream> {
  return node.dialProtocol(victim.node.peerId, RAFT_PROTOCOL)
}

/** Frames a message as our encoder would, whatever its fields hold (NaN, -1, 1e300 ...). */
export function hostileFrame(m: Message): Uint8Array {
  return encodeFrame(encodeMessage(m))
}

/**
 * A valid-looking App whose one entry is shared `copies` times through CBOR value sharing
 * (tags 28/29): a small frame that would decode into `copies` times its bytes.
 */
export function sharedValueFrame(from: string, to: string, entryBytes: number, copies: number): Uint8Array {
  const head = encodeCbor([1, MessageType.App, from, to, 3, 2, 7]).subarray(1) // strip array header
  const entry = encodeCbor([3, 8, 0, new Uint8Array(entryBytes)])
  const parts: number[] = [0x8e, ...head]
  parts.push(0x99, (copies >> 8) & 0xff, copies & 0xff) // array of `copies` (16-bit length)
  parts.push(0xd8, 28, ...entry)
  for (let i = 1; i < copies; i++) parts.push(0xd8, 29, 0x00)
  parts.push(0x06, 0xf6, 0xf6, 0xf6, 0xf6, 0xf6)
  return encodeFrame(Uint8Array.from(parts))
}

export async function waitFor(cond: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}

/** Messages the victim refused: undecodable frames, invalid messages, misaddressed ones. */
export function refusedCount(t: Libp2pTransport): number {
  const d = t.stats().drops
  return d.malformed + d.invalid + d.misaddressed + d.oversized + d.fragmented
}

/** Resolves once `stream` has closed, however it ended (and at once if it already has). */
export function whenClosed(stream: Stream): Promise<void> {
  if (stream.status !== 'open' && stream.status !== 'closing') return Promise.resolve()
  return new Promise((resolve) => stream.addEventListener('close', () => resolve()))
}
