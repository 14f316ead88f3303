import { decodeMessage, EntryType, encodeMessage, type Message, RawNode } from '../packages/core/src/index.js'
import { MemoryLog } from '../packages/core/src/raft/log-storage.js'

/**
 * npm run bench -- raft [--seconds N]
 * Committed entries per second for in-process groups of 1, 3 and 5 peers with in-memory storage
 * and transport: 128-byte commands from many concurrent clients, proposed in batches (as a
 * driver does with the proposals that queue up while a Ready is being handled).
 */
const args = process.argv.slice(2)
const seconds = Number(args[args.indexOf('--seconds') + 1] || 2)
const COMMAND_BYTES = 128
/** Commands outstanding at once: the concurrent clients. */
const CLIENTS = 4096
/** Most proposals one Ready cycle takes in: what queued up while the last one was handled. */
const BATCH = 512

interface Peer {
  node: RawNode
  log: MemoryLog
}

function group(n: number): { peers: Map<string, Peer>; leader: Peer } {
  const ids = Array.from({ length: n }, (_, i) => `p${i + 1}`)
  const conf = { voters: ids, outgoing: [], learners: [], learnersNext: [], witnesses: [], autoLeave: false }
  const peers = new Map<string, Peer>()
  for (const id of ids) {
    const log = new MemoryLog(conf)
    const node = new RawNode({
      id,
      storage: log,
      random: () => 0.5,
      maxSizePerMsg: 256 * 1024,
      maxInflightMsgs: 64,
      freshnessProbeTicks: 0,
    })
    peers.set(id, { node, log })
  }
  for (let i = 0; i < 10; i++) for (const p of peers.values()) p.node.tick()
  const leader = peers.get('p1')!
  leader.node.campaign()
  const committed = { n: 0 }
  while (run(peers, committed) > 0) {}
  if (leader.node.raft.role !== 'leader') throw new Error('no leader')
  return { peers, leader }
}

/** One pass: every peer handles its Ready, then every message is delivered. Returns messages moved. */
function run(peers: Map<string, Peer>, committed: { n: number }, codec = false, leaderId = 'p1'): number {
  const outbox: Message[] = []
  for (const [id, p] of peers) {
    while (p.node.hasReady()) {
      const rd = p.node.ready()
      p.log.append(rd.entries)
      if (rd.hardState) p.log.setHardState(rd.hardState)
      for (const m of rd.messages) outbox.push(m)
      if (id === leaderId)
        for (const e of rd.committedEntries)
          if (e.type === EntryType.Normal && e.data.length > 0) committed.n++
      p.node.advance()
    }
  }
  // With the codec, every message crosses the wire format as it would over a real transport.
  for (const m of outbox) peers.get(m.to)!.node.step(codec ? decodeMessage(encodeMessage(m)) : m)
  return outbox.length
}

function measure(n: number, codec = false): number {
  const { peers, leader } = group(n)
  const command = new Uint8Array(COMMAND_BYTES).fill(7)
  const batch = Array.from({ length: BATCH }, () => command)
  const committed = { n: 0 }
  let proposed = 0
  const start = performance.now()
  const end = start + seconds * 1000
  let now = start
  while (now < end) {
    for (let i = 0; i < 8; i++) {
      if (proposed - committed.n + BATCH <= CLIENTS) {
        leader.node.propose(...batch)
        proposed += BATCH
      }
      run(peers, committed, codec)
    }
    now = performance.now()
  }
  // Every follower must hold what the leader counted as committed.
  const commit = leader.node.raft.log.committed
  for (const p of peers.values()) {
    if (p.log.lastIndex() < commit)
      throw new Error(`a follower is missing committed entries (${p.log.lastIndex()} < ${commit})`)
  }
  return committed.n / ((now - start) / 1000)
}

// Alternate rounds so that background load hits every group alike; report medians.
const rounds = 3
const results: Record<number, number[]> = { 1: [], 3: [], 5: [] }
const withCodec: number[] = []
for (let r = 0; r < rounds; r++) {
  for (const n of [1, 3, 5]) results[n].push(measure(n))
  withCodec.push(measure(3, true))
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const c1 = median(results[1])
const c3 = median(results[3])
const c5 = median(results[5])
const c3codec = median(withCodec)
const fmt = (x: number) => Math.round(x).toLocaleString('en-US').padStart(11)
console.log(
  `raft: ${COMMAND_BYTES}-byte commands, ${CLIENTS} outstanding, batches of ${BATCH}, median of ${rounds} rounds of ${seconds} s`,
)
console.log(`  1 peer : ${fmt(c1)} committed entries/s`)
console.log(`  3 peers: ${fmt(c3)} committed entries/s`)
console.log(`  5 peers: ${fmt(c5)} committed entries/s`)
console.log(`  ratio 3-peer / 1-peer: ${(c3 / c1).toFixed(2)}`)
console.log(`  3 peers, every message through the CBOR codec: ${fmt(c3codec)} committed entries/s`)
console.log(
  JSON.stringify({
    bench: 'raft',
    commits_per_s_1: Math.round(c1),
    commits_per_s_3: Math.round(c3),
    commits_per_s_5: Math.round(c5),
    ratio_3_1: Number((c3 / c1).toFixed(3)),
    commits_per_s_3_codec: Math.round(c3codec),
  }),
)
