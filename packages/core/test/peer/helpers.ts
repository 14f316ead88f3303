import { MemoryNetwork, MemoryStorage, openPeer, type Peer, type PeerOptions } from '../../src/index.js'

// Short enough for quick tests, long enough that a loaded machine does not trigger elections.
export const FAST = { tickMs: 20, electionTicks: 10, heartbeatTicks: 1 }

export interface TestGroup {
  net: MemoryNetwork
  peers: Map<string, Peer>
  storages: Map<string, MemoryStorage>
  open(id: string, extra?: Partial<PeerOptions>): Promise<Peer>
  leader(): Promise<Peer>
  /** Runs `fn` on the current leader, again if leadership moved meanwhile. */
  onLeader<T>(fn: (leader: Peer) => Promise<T>): Promise<T>
  close(): Promise<void>
}

/** An in-process group over MemoryNetwork and MemoryStorage; storages survive a peer's close. */
export async function testGroup(
  voters: string[],
  options: { witnesses?: string[]; extra?: Partial<PeerOptions> } = {},
): Promise<TestGroup> {
  const net = new MemoryNetwork()
  const peers = new Map<string, Peer>()
  const storages = new Map<string, MemoryStorage>()
  const witnesses = options.witnesses ?? []
  const bootstrap = { voters, witnesses }
  const group: TestGroup = {
    net,
    peers,
    storages,
    async open(id, extra = {}) {
      let storage = storages.get(id)
      if (!storage) {
        storage = new MemoryStorage()
        storages.set(id, storage)
      } else storage.reopen()
      const peer = await openPeer({
        id,
        storage,
        transport: net.endpoint(id),
        role: witnesses.includes(id) ? 'witness' : 'data',
        bootstrap,
        engine: { engine: 'wasm' },
        raft: FAST,
        ...options.extra,
        ...extra,
      })
      peers.set(id, peer)
      return peer
    },
    async leader() {
      for (let i = 0; i < 500; i++) {
        for (const p of peers.values()) {
          const s = p.status()
          if (s.state === 'running' && s.raftRole === 'leader' && s.role === 'data') return p
        }
        await new Promise<void>((r) => setTimeout(r, 10))
      }
      throw new Error('no data leader elected in 5 s')
    },
    async onLeader(fn) {
      for (let attempt = 0; ; attempt++) {
        const leader = await group.leader()
        try {
          return await fn(leader)
        } catch (err) {
          const code = (err as { code?: string }).code
          if (attempt > 20 || (code !== 'ERR_NOT_LEADER' && code !== 'ERR_NO_LEADER')) throw err
        }
      }
    },
    async close() {
      await Promise.all([...peers.values()].map((p) => p.close({ transfer: false })))
    },
  }
  for (const id of [...voters, ...witnesses]) await group.open(id)
  return group
}
