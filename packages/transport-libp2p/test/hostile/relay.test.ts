/**
 * Issue 15, item 3: a relay's slots and relayed connections are for members (or peers admitted
 * with a token), a slot is freed when its holder leaves, and strangers do not linger.
 */
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { afterEach, describe, expect, it } from 'vitest'
import { type MembershipGate, membershipGate, requestAdmission, serveAdmission } from '../../src/index.js'
import { nodePeer } from '../../src/node/index.js'
import { type Identity, identity, TCP_ONLY, waitFor } from './fixture.js'

const nodes: Libp2p[] = []
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.stop()
})

async function startRelay(gate: MembershipGate, maxReservations: number): Promise<Libp2p> {
  const relay = await createLibp2p(nodePeer({ ...TCP_ONLY, relay: { maxReservations }, gate }))
  gate.attach(relay)
  nodes.push(relay)
  return relay
}

/** A peer that asks every relay it connects to for a slot (as a tab does). */
async function startClient(key?: PrivateKey): Promise<Libp2p> {
  const opts = nodePeer({ ...TCP_ONLY, ...(key ? { privateKey: key } : {}) })
  const node = await createLibp2p({
    ...opts,
    addresses: { listen: [...(opts.addresses?.listen ?? []), '/p2p-circuit'] },
  })
  nodes.push(node)
  return node
}

const circuitOf = (n: Libp2p): Multiaddr | undefined =>
  n.getMultiaddrs().find((m) => m.toString().includes('/p2p-circuit'))

describe('relay gate', () => {
  it('reserves and relays for members only, and frees a slot when its holder leaves', async () => {
    const [a, b] = [await identity(), await identity()]
    const gate = membershipGate({ members: [a.id, b.id], relay: true, strangerGraceMs: 1000 })
    const relay = await startRelay(gate, 1)
    const relayAddr = relay.getMultiaddrs()[0]

    // A stranger may connect (it might be about to present a token) but gets no slot...
    const stranger = await startClient()
    await stranger.dial(relayAddr)
    await waitFor(() => gate.stats().reservationsRefused >= 1, 'the stranger’s reservation to be refused')
    expect(circuitOf(stranger)).toBeUndefined()
    // ...and is dropped after the grace period.
    await waitFor(() => relay.getConnections(stranger.peerId).length === 0, 'the stranger to be dropped')
    expect(gate.stats().connectionsClosed).toBeGreaterThanOrEqual(1)

    // A member gets the one slot; a stranger cannot reach it through the relay, a member can.
    const memberA = await startClient(a.key)
    await memberA.dial(relayAddr)
    await waitFor(() => circuitOf(memberA) !== undefined, 'a’s reservation')
    const circuit = circuitOf(memberA)!
    const prober = await startClient()
    await expect(prober.dial(circuit, { signal: AbortSignal.timeout(5000) })).rejects.toThrow()
    expect(gate.stats().relayedRefused).toBeGreaterThanOrEqual(1)
    const memberB = await startClient(b.key)
    const relayed = await memberB.dial(circuit, { signal: AbortSignal.timeout(5000) })
    expect(relayed.remotePeer.equals(memberA.peerId)).toBe(true)
    await relayed.close()
    await waitFor(() => memberB.getConnections(relay.peerId).length > 0, 'b to hold its relay connection')

    // a leaves: its slot is freed at once (libp2p alone keeps it for the reservation's life).
    await memberA.stop()
    await memberB.hangUp(relay.peerId)
    await memberB.dial(relayAddr)
    await waitFor(() => circuitOf(memberB) !== undefined, 'b to take the freed slot')
  })

  it('admits a joining peer that presents a valid token, for a while', async () => {
    const member: Identity = await identity()
    const gate = membershipGate({ members: [member.id], relay: true, strangerGraceMs: 5000 })
    const relay = await startRelay(gate, 4)
    const secret = new TextEncoder().encode('let me in')
    await serveAdmission(relay, gate, {
      verify: (token) => token.length === secret.length && token.every((x, i) => x === secret[i]),
      ttlMs: 60_000,
    })
    const liar = await startClient()
    await liar.dial(relay.getMultiaddrs()[0])
    expect(await requestAdmission(liar, relay.peerId, new TextEncoder().encode('guess'))).toBe(false)
    expect(gate.allows(liar.peerId.toString())).toBe(false)

    const joiner = await startClient()
    await joiner.dial(relay.getMultiaddrs()[0])
    expect(await requestAdmission(joiner, relay.peerId, secret)).toBe(true)
    expect(gate.allows(joiner.peerId.toString())).toBe(true)
    // Admitted to connect and reserve, not to speak Raft: it is not a member yet.
    expect(gate.isMember(joiner.peerId.toString())).toBe(false)
    // Its reservation attempt may have come first and been refused: ask again as a tab would.
    await joiner.hangUp(relay.peerId)
    await joiner.dial(relay.getMultiaddrs()[0])
    await waitFor(() => circuitOf(joiner) !== undefined, 'the admitted peer’s reservation')
  })
})
