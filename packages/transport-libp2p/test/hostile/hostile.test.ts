/**
 * Issue 15: hostile peers over real libp2p connections (TCP on loopback). A victim peer runs
 * our transport behind a membership gate and a real Raft node following a leader at term 2;
 * strangers and a hostile member attack it. After each attack the victim must still be up,
 * still at term 2 following the same leader, and must have counted what it refused.
 */
import { type ConfState, decodeMessage, type Message, MessageType, validateMessage } from '@flotilla/core'
import { multiaddr } from '@multiformats/multiaddr'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLibp2pTransport, encodeFrame, FrameDecoder, RAFT_PROTOCOL } from '../../src/index.js'
import {
  type Group,
  hostileFrame,
  identity,
  rawStream,
  refusedCount,
  sharedValueFrame,
  startGroup,
  tcpNode,
  waitFor,
  whenClosed,
} from './fixture.js'

let g: Group

beforeAll(async () => {
  g = await startGroup()
  g.heartbeat()
  await waitFor(() => g.victim.raft.status().lead === g.leader.id, 'the victim to follow the leader')
})
afterAll(async () => g?.stop())

/** The victim is up, at term 2, following the leader, and answers the leader's next heartbeat. */
async function expectUnharmed(): Promise<void> {
  const before = g.victim.transport.stats().framesReceived.Heartbeat ?? 0
  g.heartbeat()
  await waitFor(
    () => (g.victim.transport.stats().framesReceived.Heartbeat ?? 0) > before,
    'the next heartbeat from the leader',
  )
  const s = g.victim.raft.status()
  expect(s.term).toBe(2)
  expect(s.lead).toBe(g.leader.id)
}

const conf = (voters: string[]): ConfState => ({
  voters,
  outgoing: [],
  learners: [],
  learnersNext: [],
  witnesses: [],
  autoLeave: false,
})

const BAD_NUMBERS = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -1, 0.5, 2 ** 53, 1e300]

/**
 * Messages from the hostile member, each carrying term 3 (higher than the victim's) so that one
 * slipping through would move the victim's term or leader, and each wrong in one way.
 */
function hostileMessages(from: string, to: string): fc.Arbitrary<{ what: string; frame: Uint8Array }> {
  const base = (type: number): Message => ({ type: type as Message['type'], from, to, term: 3 })
  const badNumber = fc
    .record({
      type: fc.constantFrom(MessageType.App, MessageType.Heartbeat, MessageType.Vote, MessageType.TimeoutNow),
      field: fc.constantFrom('term', 'index', 'logTerm', 'commit', 'rejectHint', 'dataMatch'),
      value: fc.constantFrom(...BAD_NUMBERS),
    })
    .map(({ type, field, value }) => ({
      what: `type ${type} with ${field} = ${value}`,
      message: { ...base(type), [field]: value } as Message,
    }))
  const termZero = fc
    .constantFrom(
      MessageType.App,
      MessageType.Heartbeat,
      MessageType.Vote,
      MessageType.TimeoutNow,
      MessageType.Snap,
    )
    .map((type) => ({ what: `type ${type} with term 0`, message: { ...base(type), term: 0 } }))
  const localType = fc
    .constantFrom(MessageType.Hup, MessageType.Beat, MessageType.Unreachable)
    .map((type) => ({ what: `local type ${type}`, message: base(type) }))
  const gappedEntries = fc
    .record({ index: fc.nat({ max: 1000 }), skew: fc.integer({ min: -3, max: 3 }).filter((s) => s !== 1) })
    .map(({ index, skew }) => ({
      what: `App at ${index} with an entry at ${index + skew}`,
      message: {
        ...base(MessageType.App),
        index,
        logTerm: 1,
        entries: [{ term: 3, index: index + skew, type: 0 as const, data: new Uint8Array(4) }],
      },
    }))
  const badSnapshot = fc
    .constantFrom(
      { offset: 0, total: 2 ** 40, len: 8, voters: true, index: 50 }, // over the cap
      { offset: 0, total: 0, len: 8, voters: true, index: 50 }, // data beyond total
      { offset: 6, total: 8, len: 8, voters: true, index: 50 }, // chunk past the end
      { offset: 0, total: 8, len: 8, voters: false, index: 50 }, // no voters
      { offset: 0, total: 8, len: 8, voters: true, index: 1e300 }, // commit index 1e300
    )
    .map((c) => ({
      what: `snapshot chunk ${JSON.stringify(c)}`,
      message: {
        ...base(MessageType.Snap),
        snapshot: {
          meta: { index: c.index, term: 2, conf: conf(c.voters ? [from, to] : []) },
          offset: c.offset,
          total: c.total,
          data: new Uint8Array(c.len),
        },
      },
    }))
  const messages = fc
    .oneof(badNumber, termZero, localType, gappedEntries, badSnapshot)
    .map(({ what, message }) => ({ what, frame: hostileFrame(message) }))
  const shared = fc.integer({ min: 20, max: 2000 }).map((copies) => ({
    what: `${copies} shared copies of 1 KiB`,
    frame: sharedValueFrame(from, to, 1024, copies),
  }))
  return fc.oneof({ weight: 6, arbitrary: messages }, { weight: 1, arbitrary: shared })
}

/** Whether the victim may refuse this frame: it does not decode, or does not validate. */
function refusable(frame: Uint8Array): boolean {
  try {
    const [payload] = new FrameDecoder(1 << 24).push(frame)
    return validateMessage(decodeMessage(payload)) !== null
  } catch {
    return true
  }
}

describe('a hostile member', () => {
  it('never moves the victim’s term or leader with a malformed or invalid message', async () => {
    await fc.assert(
      fc.asyncProperty(hostileMessages(g.hostile.id, g.victim.id), async ({ what, frame }) => {
        expect(refusable(frame), what).toBe(true)
        const before = refusedCount(g.victim.transport)
        const stream = await rawStream(g.hostile.node, g.victim)
        stream.send(frame)
        await waitFor(() => refusedCount(g.victim.transport) > before, `the victim to refuse ${what}`)
        stream.abort(new Error('done'))
        await expectUnharmed()
      }),
      { numRuns: 60 },
    )
    const s = g.victim.transport.stats()
    expect(s.drops.malformed).toBeGreaterThan(0)
    expect(s.drops.invalid).toBeGreaterThan(0)
  })

  it('cannot end the process or the stream loop by making the handler throw', async () => {
    // Raft's step throwing (issue 15 item 4) is simulated by a handler that throws on Prop.
    const { raft } = g.victim
    g.victim.transport.onMessage((m) => {
      if (m.type === MessageType.Prop) throw new Error('step failed')
      raft.step(m)
    })
    const before = g.victim.transport.stats().drops['handler-error']
    const stream = await rawStream(g.hostile.node, g.victim)
    const prop: Message = {
      type: MessageType.Prop,
      from: g.hostile.id,
      to: g.victim.id,
      term: 0,
      entries: [{ term: 0, index: 0, type: 0, data: new Uint8Array(1) }],
    }
    for (let i = 0; i < 3; i++) stream.send(hostileFrame(prop))
    await waitFor(
      () => g.victim.transport.stats().drops['handler-error'] >= before + 3,
      'three handler errors',
    )
    // The same stream still delivers.
    const hb: Message = {
      type: MessageType.Heartbeat,
      from: g.hostile.id,
      to: g.victim.id,
      term: 2,
      commit: 1,
    }
    const heartbeats = g.victim.transport.stats().framesReceived.Heartbeat ?? 0
    stream.send(hostileFrame(hb))
    await waitFor(
      () => (g.victim.transport.stats().framesReceived.Heartbeat ?? 0) > heartbeats,
      'a later frame',
    )
    stream.abort(new Error('done'))
    await expectUnharmed()
  })

  it('cuts off a frame sent as 1-byte writes after a bounded number of pieces', async () => {
    const stream = await rawStream(g.hostile.node, g.victim)
    const hb: Message = {
      type: MessageType.Heartbeat,
      from: g.hostile.id,
      to: g.victim.id,
      term: 2,
      commit: 1,
      context: new Uint8Array(1000).fill(7),
    }
    const frame = hostileFrame(hb)
    const before = g.victim.transport.stats().drops.fragmented
    const closed = whenClosed(stream)
    try {
      for (let i = 0; i < frame.byteLength && stream.writeStatus === 'writable'; i++) {
        stream.send(frame.subarray(i, i + 1))
        if (i % 50 === 0) await new Promise((r) => setTimeout(r, 1))
      }
    } catch {
      // Reset by the victim mid-way.
    }
    await closed
    expect(g.victim.transport.stats().drops.fragmented).toBe(before + 1)
    // The connection goes too: what the flood still has in flight is never read.
    await waitFor(
      () => g.victim.node.getConnections(g.hostile.node.peerId).length === 0,
      'the connection to close',
    )
    await expectUnharmed()
  })

  it('holds at most a few connections to the victim', async () => {
    const addr = g.victim.node.getMultiaddrs()[0]
    const refused = g.victim.gate.stats().connectionsRefused
    for (let i = 0; i < 4; i++) await g.hostile.node.dial(addr, { force: true }).catch(() => undefined)
    await waitFor(() => g.victim.gate.stats().connectionsRefused >= refused + 1, 'a refused connection')
    expect(g.victim.node.getConnections(g.hostile.node.peerId).length).toBeLessThanOrEqual(2)
  })
})

describe('strangers', () => {
  it('are refused at the connection, before any stream: nothing of theirs is buffered', async () => {
    const strangers = await Promise.all(
      Array.from({ length: 10 }, async () => tcpNode((await identity()).key)),
    )
    try {
      const refused = g.victim.gate.stats().connectionsRefused
      const addr = g.victim.node.getMultiaddrs()[0]
      const opened = await Promise.all(
        strangers.map((s) =>
          s.dialProtocol(addr, RAFT_PROTOCOL).then(
            () => true,
            () => false,
          ),
        ),
      )
      expect(opened.every((ok) => !ok)).toBe(true)
      // Refused by the gate, or earlier by libp2p's limit of 5 inbound connections/s per address.
      expect(g.victim.gate.stats().connectionsRefused).toBeGreaterThan(refused)
      const ids = new Set(strangers.map((s) => s.peerId.toString()))
      expect(g.victim.node.getConnections().filter((c) => ids.has(c.remotePeer.toString()))).toEqual([])
      await expectUnharmed()
    } finally {
      for (const s of strangers) await s.stop()
    }
  })

  it('without a connection gate, have their Raft streams reset before a byte is read', async () => {
    // A transport given only isMember (no gate in the libp2p config): the stream gate still holds.
    const open = await tcpNode()
    const member = await identity()
    const t = await createLibp2pTransport(open, { isMember: (p) => p === member.id })
    const stranger = await tcpNode()
    try {
      const stream = await stranger.dialProtocol(multiaddr(open.getMultiaddrs()[0].toString()), RAFT_PROTOCOL)
      const closed = whenClosed(stream)
      // 8 MiB announced and 1 MiB sent: the victim must not hold it.
      try {
        stream.send(encodeFrame(new Uint8Array(8 * 1024 * 1024)).subarray(0, 1024 * 1024))
      } catch {
        // Already reset: fine.
      }
      await closed
      const s = t.stats()
      expect(s.drops['not-member']).toBe(1)
      expect(s.framesReceived).toEqual({})
    } finally {
      await t.close()
      await stranger.stop()
      await open.stop()
    }
  })

  it('lose their connections when the membership drops them', async () => {
    const newcomer = await identity()
    const node = await tcpNode(newcomer.key)
    try {
      const members = [g.victim.id, g.leader.id, g.hostile.id]
      g.victim.gate.setMembers([...members, newcomer.id])
      // Earlier tests open many loopback connections: libp2p's per-host inbound rate limit may
      // reset a dial for a moment, which is not what this test is about.
      for (let attempt = 1; ; attempt++) {
        try {
          await node.dial(g.victim.node.getMultiaddrs()[0])
          break
        } catch (err) {
          if (attempt >= 5) throw err
          await new Promise<void>((r) => setTimeout(r, 500))
        }
      }
      await waitFor(() => g.victim.node.getConnections(node.peerId).length === 1, 'the newcomer to connect')
      g.victim.gate.setMembers(members)
      await waitFor(() => g.victim.node.getConnections(node.peerId).length === 0, 'the connection to close')
    } finally {
      await node.stop()
    }
    await expectUnharmed()
  })
})
