// Node 20 lacks Promise.withResolvers and WebSocket, which libp2p 3 needs (installed only where missing).
import '../packages/transport-libp2p/src/node/shims.js'
import type { GateStats } from '@flotilla/transport-libp2p/browser'
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { identify } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { peerIdFromString } from '@libp2p/peer-id'
import { webSockets } from '@libp2p/websockets'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { expect, test } from './fixtures/cluster.js'

test('member tabs refuse a stranger that dials them through the relay; a new tab still joins', async ({
  cluster,
}) => {
  test.setTimeout(180_000)
  const tabs = await cluster.openTabs(2)
  // A stranger: any libp2p node that reaches the relay, which lets anyone in (a tab reaches it
  // before it is a member). Every WebRTC dial to a tab starts as a connection relayed to it.
  const stranger = await createLibp2p({
    transports: [webSockets(), circuitRelayTransport()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify() },
  })
  try {
    await stranger.dial(multiaddr(cluster.witness.relay))
    for (const tab of tabs) {
      const before = await tab.call<GateStats>('gateStats')
      const through = multiaddr(`${cluster.witness.relay}/p2p-circuit/p2p/${tab.id}`)
      const dialled = await stranger.dial(through, { signal: AbortSignal.timeout(15_000) }).then(
        () => 'connected',
        (err: Error) => `refused: ${err.message}`,
      )
      expect(dialled, `${tab.name} let a stranger connect`).toMatch(/^refused/)
      expect(stranger.getConnections(peerIdFromString(tab.id))).toHaveLength(0)
      const after = await tab.call<GateStats>('gateStats')
      expect(after.relayedRefused + after.connectionsRefused).toBeGreaterThan(
        before.relayedRefused + before.connectionsRefused,
      )
    }

    // Members still connect: a new tab is added by the leader (its own gate is open until it
    // knows the group), connects to every member, and what it writes is read in another tab.
    const joiner = await cluster.openTab()
    const { index } = await joiner.retrying<{ index: number }>('add', [
      'A stranger knocked at the relay and nobody opened',
      'gate-joined',
    ])
    const read = await tabs[0].retrying<{ text: string; index: number }>('get', [
      'gate-joined',
      'linearizable',
    ])
    expect(read.text).toBe('A stranger knocked at the relay and nobody opened')
    expect(read.index).toBeGreaterThanOrEqual(index)
    const status = await (await cluster.leader()).status()
    expect(status.members.filter((m) => m.kind === 'voter')).toHaveLength(3)
  } finally {
    await stranger.stop()
  }
})
