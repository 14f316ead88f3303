import { EntryType, type Message, RaftError, RawNode } from '../packages/core/src/index.js'
import { MemoryLog } from '../packages/core/src/raft/log-storage.js'

/**
 * npm start: a local, in-process 3-peer Flotilla group in real time. It prints elections and
 * commits, and every few seconds crashes the leader (keeping only what it had persisted) to
 * show a failover. Stop it with Ctrl-C, or pass --seconds N.
 */
const args = process.argv.slice(2)
const seconds = Number(args[args.indexOf('--seconds') + 1] || 0)
const TICK_MS = 100
const ids = ['p1', 'p2', 'p3']
const conf = { voters: ids, outgoing: [], learners: [], learnersNext: [], witnesses: [], autoLeave: false }

interface Peer {
  id: string
  log: MemoryLog
  node: RawNode | null
  role: string
}

const peers = new Map<string, Peer>(
  ids.map((id) => [id, { id, log: new MemoryLog(conf), node: null, role: '' }]),
)
const started = Date.now()
const stamp = () => `${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s`
const say = (line: string) => console.log(`${stamp()}  ${line}`)

function boot(p: Peer): void {
  p.node = new RawNode({ id: p.id, storage: p.log, random: Math.random, electionTick: 10, heartbeatTick: 1 })
  p.role = 'follower'
  say(`${p.id} starts (term ${p.node.raft.term}, log up to index ${p.log.lastIndex()})`)
}

function deliver(m: Message): void {
  // A little network latency, so messages interleave as they would between processes.
  setTimeout(
    () => {
      const target = peers.get(m.to)
      if (target?.node) {
        target.node.step(m)
        drain(target)
      }
    },
    2 + Math.random() * 8,
  )
}

/** The driver loop body: persist, send, apply, advance. */
function drain(p: Peer): void {
  const node = p.node
  if (!node) return
  while (node.hasReady()) {
    const rd = node.ready()
    p.log.append(rd.entries)
    if (rd.hardState) p.log.setHardState(rd.hardState)
    for (const m of rd.messages) deliver(m)
    if (rd.softState && rd.softState.role !== p.role) {
      p.role = rd.softState.role
      if (p.role === 'leader') say(`${p.id} is the leader of term ${node.raft.term}`)
    }
    for (const e of rd.committedEntries) {
      if (e.type === EntryType.Normal && e.data.length > 0 && node.raft.role === 'leader') {
        say(`${p.id} committed #${e.index}: ${new TextDecoder().decode(e.data)}`)
      }
    }
    node.advance()
  }
}

for (const p of peers.values()) boot(p)
const ticker = setInterval(() => {
  for (const p of peers.values()) {
    p.node?.tick()
    drain(p)
  }
}, TICK_MS)

let counter = 0
const writer = setInterval(() => {
  const up = [...peers.values()].filter((p) => p.node)
  const p = up[Math.floor(Math.random() * up.length)]
  if (!p?.node) return
  try {
    p.node.propose(new TextEncoder().encode(`set x = ${++counter} (via ${p.id})`))
    drain(p)
  } catch (err) {
    if (!(err instanceof RaftError)) throw err
    say(`write via ${p.id} refused: ${err.message}`)
  }
}, 700)

const chaos = setInterval(() => {
  const leader = [...peers.values()].find((p) => p.node?.raft.role === 'leader')
  if (!leader) return
  say(`crashing the leader ${leader.id}: it keeps only what it persisted`)
  leader.node = null
  leader.role = ''
  setTimeout(() => boot(leader), 3000)
}, 8000)

console.log('Flotilla: a 3-peer Raft group in this process. Ctrl-C to stop.\n')
const stop = () => {
  clearInterval(ticker)
  clearInterval(writer)
  clearInterval(chaos)
  const leader = [...peers.values()].find((p) => p.node?.raft.role === 'leader')
  say(`stopping; leader ${leader?.id ?? 'none'}, commit index ${leader?.node?.raft.log.committed ?? '-'}`)
  process.exit(0)
}
process.on('SIGINT', stop)
if (seconds > 0) setTimeout(stop, seconds * 1000)
