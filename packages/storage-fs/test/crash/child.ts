import { writeSync } from 'node:fs'
import { openFsStorage } from '../../src/index.js'
import { type Batch, makeEntry, snapshotBytes } from './model.js'

/**
 * The crash-test writer: appends batches (several in flight, so group commit is exercised),
 * sometimes overwrites a suffix or snapshots and compacts, and prints `ack <seq>` only after a
 * save has resolved. Lines go out with writeSync so nothing is buffered when SIGKILL comes.
 */
const [dir, seedArg] = process.argv.slice(2)
let seed = Number(seedArg) >>> 0 || 1
const rand = (n: number) => {
  seed = (seed * 1664525 + 1013904223) >>> 0
  return seed % n
}
const say = (line: string) => writeSync(1, `${line}\n`)

const storage = await openFsStorage({ dir, maxSegmentBytes: 256 * 1024 })
const st = await storage.load()
// Start above every term stored, in the hard state or in the log.
let term = Math.max(st.hardState.term, (await storage.term(st.lastIndex)) ?? 0) + 1
let last = st.lastIndex
let first = st.firstIndex
let seq = 0
say(`ready ${st.firstIndex} ${st.lastIndex} ${term}`)

const MAX_IN_FLIGHT = 4
let inFlight = 0

function startBatch(): void {
  let start = last + 1
  if (rand(10) === 0 && last >= first) {
    // Overwrite a suffix: a new leader's entries replace ours, with a higher term.
    start = Math.max(first, last - rand(20))
    term++
  }
  const count = 1 + rand(40)
  const b: Batch = {
    seq: seq++,
    first: start,
    count,
    term,
    hardState: { term, vote: 'c', commit: start - 1 },
  }
  const entries = Array.from({ length: count }, (_, i) => makeEntry(start + i, term))
  last = start + count - 1
  say(`start ${b.seq} ${b.first} ${b.count} ${b.term} ${b.hardState.commit}`)
  inFlight++
  storage.save({ entries, hardState: b.hardState }).then(
    () => {
      say(`ack ${b.seq}`)
      inFlight--
      pump()
    },
    (err) => {
      say(`error ${String(err)}`)
      process.exit(1)
    },
  )
}

let snapshotting = false
async function snapshotAndCompact(): Promise<void> {
  snapshotting = true
  // Wait for every started save, then snapshot a point well inside the log.
  while (inFlight > 0) await new Promise((r) => setTimeout(r, 1))
  const at = last - 50
  if (at >= first) {
    const t = (await storage.term(at))!
    await storage.writeSnapshot(
      {
        index: at,
        term: t,
        conf: {
          voters: ['c'],
          outgoing: [],
          learners: [],
          learnersNext: [],
          witnesses: [],
          autoLeave: false,
        },
      },
      [snapshotBytes(at)],
    )
    await storage.compact(at)
    first = at + 1
    say(`compacted ${at}`)
  }
  snapshotting = false
  pump()
}

function pump(): void {
  if (snapshotting) return
  // Keep the log short (so each check stays quick) and exercise compaction under kills.
  if (last - first > 2000 || rand(200) === 0) {
    void snapshotAndCompact()
    return
  }
  while (inFlight < MAX_IN_FLIGHT) startBatch()
}

pump()
