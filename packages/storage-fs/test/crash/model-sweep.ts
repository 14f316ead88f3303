import { type FsStorage, openFsStorage } from '../../src/index.js'
import { makeEntry, payload, snapshotBytes } from './model.js'
import { CrashError, ModelFs } from './model-fs.js'
import { lastIndexOf, type ModelState, Oracle, runWorkload, seeded } from './model-workload.js'

const DIR = '/data/store'
const SEGMENT_BYTES = 2048

interface CrashPoint {
  op: number
  what: string
  kill: ModelFs
  power: ModelFs
  torn: ModelFs
  /** Operations acknowledged and started when the crash came. */
  acked: number
  started: number
}

export interface SweepResult {
  /** Operations of the workload (each a crash point, checked in both states). */
  operations: number
  violations: string[]
}

const open = (fs: ModelFs) => openFsStorage({ dir: DIR, fs, maxSegmentBytes: SEGMENT_BYTES })

/**
 * Runs the workload once over the model file system, capturing before each of its operations
 * the disk a kill -9 and a power loss would leave, then recovers every captured disk and checks
 * it against the oracle:
 * - it opens;
 * - it equals the store after some prefix of the operations that holds every acknowledged one
 *   (so no acknowledged record is lost, no torn one appears, the hard state is not older);
 * - double crash: after a kill, what the restarted store showed, and a save acknowledged after
 *   the restart, must survive a power loss that follows (the restart must have made durable
 *   what it accepted, and left the log fit to append to);
 * - a crash during that restart, at one of its operations, leaves a disk that recovers too;
 * - a power loss that kept the first half of each file's unsynced appended bytes (a torn frame)
 *   recovers like one that kept none of them.
 */
export async function modelSweep(seed: number, steps: number): Promise<SweepResult> {
  const fs = new ModelFs()
  await fs.mkdir('/data')
  await fs.syncDir('/')
  const oracle = new Oracle()
  const points: CrashPoint[] = []
  const base = fs.ops
  fs.beforeOp = (op, what) =>
    points.push({
      op: op - base,
      what,
      kill: fs.killImage(),
      power: fs.powerLossImage(),
      torn: fs.tornImage(),
      acked: oracle.acked,
      started: oracle.states.length - 1,
    })
  const store = await open(fs)
  await runWorkload(store, oracle, seeded(seed), steps, { reopen: () => open(fs) })
  fs.beforeOp = undefined
  const violations: string[] = []
  for (const p of points) {
    const where = `crash before operation ${p.op} (${p.what}), ${p.acked}/${p.started} acknowledged`
    const allowed = oracle.states.slice(p.acked, p.started + 1)
    const pristine = p.kill.killImage()
    const killed = await recover(p.kill, allowed, violations, `${where}, kill -9`)
    if (killed && killed.fs.ops > 0) {
      // Crash again during the restart, at one of its operations, then kill or power loss.
      const at = (p.op * 7919 + seed) % killed.fs.ops
      pristine.crashAt = at
      const crashed = await open(pristine).then(
        () => false,
        (err: unknown) => (err as { code?: string }).code === 'ERR_FATAL',
      )
      if (!crashed) violations.push(`${where}: a crash at restart operation ${at} did not fail the open`)
      const again = `${where}, kill -9, crash at restart operation ${at}`
      await recover(pristine.killImage(), allowed, violations, `${again}, kill -9`)
      await recover(pristine.powerLossImage(), allowed, violations, `${again}, power loss`)
    }
    if (killed) {
      // Double crash: the restarted peer acts on what it loaded (appends, votes), then the
      // power fails: what the restart showed and what it acknowledged since must survive.
      const { store: s, fs: restarted, state } = killed
      const term = Math.max(state.hardState.term, state.terms.at(-1) ?? 0, state.snapshot?.term ?? 0) + 1
      const next = lastIndexOf(state) + 1
      const hardState = { term, vote: 'z', commit: state.hardState.commit }
      await s.save({ entries: [makeEntry(next, term)], hardState })
      const expected = { ...state, terms: [...state.terms, term], hardState }
      await recover(
        restarted.powerLossImage(),
        [expected],
        violations,
        `${where}, kill -9, restart, append, power loss`,
      )
    }
    await recover(p.power, allowed, violations, `${where}, power loss`)
    await recover(
      p.torn,
      allowed,
      violations,
      `${where}, power loss with half of the unsynced appends written`,
    )
  }
  return { operations: points.length, violations }
}

interface Recovered {
  store: FsStorage
  fs: ModelFs
  state: ModelState
}

/** Opens a crashed disk, reads everything back and checks it against the allowed states. */
async function recover(
  fs: ModelFs,
  allowed: ModelState[],
  violations: string[],
  where: string,
): Promise<Recovered | null> {
  let store: FsStorage
  try {
    store = await open(fs)
  } catch (err) {
    violations.push(`${where}: does not open: ${String(err)}`)
    return null
  }
  try {
    const state = await readBack(store)
    if (!allowed.some((s) => sameState(s, state)))
      violations.push(`${where}: recovered ${show(state)}, allowed ${allowed.map(show).join(' or ')}`)
    return { store, fs, state }
  } catch (err) {
    if (err instanceof CrashError) throw err
    violations.push(`${where}: reading back failed: ${String(err)}`)
    return null
  }
}

async function readBack(store: FsStorage): Promise<ModelState> {
  const st = await store.load()
  const got = await store.entries(st.firstIndex, st.lastIndex + 1)
  for (const e of got) {
    const want = payload(e.index, e.term)
    if (Buffer.compare(Buffer.from(e.data), Buffer.from(want)) !== 0)
      throw new Error(`entry ${e.index} (term ${e.term}) has the wrong bytes`)
  }
  if (st.snapshot) {
    const snap = await store.readSnapshot()
    const parts: Uint8Array[] = []
    for await (const c of snap!.chunks()) parts.push(c)
    if (Buffer.compare(Buffer.concat(parts), Buffer.from(snapshotBytes(st.snapshot.index))) !== 0)
      throw new Error(`snapshot at ${st.snapshot.index} has the wrong bytes`)
  }
  return {
    first: st.firstIndex,
    terms: got.map((e) => e.term),
    hardState: st.hardState,
    snapshot: st.snapshot && { index: st.snapshot.index, term: st.snapshot.term },
  }
}

function sameState(a: ModelState, b: ModelState): boolean {
  return (
    a.first === b.first &&
    a.terms.length === b.terms.length &&
    a.terms.every((t, i) => t === b.terms[i]) &&
    a.hardState.term === b.hardState.term &&
    a.hardState.vote === b.hardState.vote &&
    a.hardState.commit === b.hardState.commit &&
    a.snapshot?.index === b.snapshot?.index &&
    a.snapshot?.term === b.snapshot?.term
  )
}

function show(s: ModelState): string {
  const hs = `${s.hardState.term}/${s.hardState.vote || '-'}/${s.hardState.commit}`
  const snap = s.snapshot ? `snap ${s.snapshot.index}@${s.snapshot.term}` : 'no snap'
  const terms = s.terms.length > 0 ? ` terms ${s.terms[0]}..${s.terms[s.terms.length - 1]}` : ''
  return `[${s.first}, ${lastIndexOf(s)}]${terms} hs ${hs} ${snap}`
}

/** Runs the sweep for each seed, prints every violation and the summary line; returns the exit code. */
export async function modelSweepCli(seeds: number[], steps: number): Promise<number> {
  let points = 0
  let violations = 0
  for (const seed of seeds) {
    const r = await modelSweep(seed, steps)
    // Each operation is a crash point in two states: kill -9 and power loss.
    points += r.operations * 2
    violations += r.violations.length
    console.log(`  seed ${seed}: ${r.operations} operations, ${r.violations.length} violations`)
    for (const v of r.violations.slice(0, 20)) console.log(`    ${v}`)
  }
  console.log(`crash-model: ${points} crash points, ${violations} violations`)
  return violations === 0 ? 0 : 1
}
