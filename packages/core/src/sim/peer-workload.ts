import type { Consistency, ReadInfo, WriteResult } from '../peer/types.js'
import type { Entry } from '../raft/messages.js'
import { decodeCommand } from '../state/commands.js'
import type { ApplyResult } from '../state/state-machine.js'
import type { Operation } from './linearizability.js'
import type { PeerWorld, WorldPeer } from './peer-world.js'
import type { Rng } from './rng.js'

export const COLLECTION = 'kv'
const KEYS = ['x', 'y', 'z']
/** How long a client keeps retrying one write (same session) before its outcome is unknown. */
const WRITE_BUDGET_MS = 2500
const READ_BUDGET_MS = 900

export type ReadLevel = 'linearizable' | 'lease' | 'bounded' | 'local'

interface ServedRead {
  key: string
  value: string | null
  call: number
  level: ReadLevel
  /** The bound asked for (bounded) or claimed (local); null: no claim. */
  bound: number | null
  minIndex: number | undefined
  info: ReadInfo
}

class Timeout extends Error {}

/**
 * Clients using the public Peer API only: writes under their own sessions, retried with the same
 * session after a timeout or a lost reply; reads at every consistency level, some with minIndex
 * (read-your-writes at another peer). Records what the checkers need.
 */
export class PeerWorkload {
  readonly history: Operation[] = []
  readonly served: ServedRead[] = []
  readonly acked: { key: string; value: string; index: number; ret: number }[] = []
  readonly reads: Record<string, number> = {}
  readonly violations: string[] = []
  /** Value -> the index where it first changed the state (every replica agrees, by safety). */
  readonly firstApplied = new Map<string, number>()
  /** Key -> the indices of writes that changed it, ascending. */
  private readonly keyWrites = new Map<string, number[]>()
  private readonly decoded = new Map<number, { data: Uint8Array; pairs: [string, string][] }>()
  private nextOp = 1
  private readonly seq: number[] = []
  private readonly lastIndex: number[] = []
  private running = true
  /** Client loops still running (a stopped client finishes its current operation first). */
  private active = 0
  lostReplies = 0

  constructor(
    private readonly world: PeerWorld,
    private readonly rng: Rng,
    private readonly clients: number,
    /** Chance that the reply to a committed write is lost (the client retries it). */
    private readonly lostReply: number,
  ) {
    world.onApplied = (p, e, r) => this.noteApplied(p, e, r)
  }

  start(): void {
    for (let c = 0; c < this.clients; c++) {
      this.seq.push(0)
      this.lastIndex.push(0)
      void this.loop(c)
    }
  }

  stop(): void {
    this.running = false
  }

  /** True once stopped and every client has finished its last operation. */
  get settled(): boolean {
    return !this.running && this.active === 0
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((r) => this.world.at(this.world.now + ms, r))
  }

  /** Settles with `p`, or rejects with Timeout after `ms` (a crashed peer never answers). */
  private within<T>(p: Promise<T>, ms: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let done = false
      const once =
        <A>(fn: (a: A) => void) =>
        (a: A) => {
          if (done) return
          done = true
          fn(a)
        }
      p.then(once(resolve), once(reject))
      // The error is made only if it is used: most answers come first.
      this.world.at(this.world.now + ms, () => {
        if (!done) once(reject)(new Timeout('no answer'))
      })
    })
  }

  private dataPeer(): WorldPeer | undefined {
    const up = [...this.world.peers.values()].filter((p) => p.role === 'data' && p.peer)
    return up.length ? this.rng.pick(up) : undefined
  }

  private async loop(client: number): Promise<void> {
    this.active++
    await this.sleep(this.rng.next() * 20)
    while (this.running) {
      const r = this.rng.next()
      if (r < 0.4) await this.write(client)
      else if (r < 0.97) await this.read(client)
      else await this.witnessRead()
      await this.sleep(this.rng.next() * 6)
    }
    this.active--
  }

  private async write(client: number): Promise<void> {
    const key = this.rng.pick(KEYS)
    const value = `c${client}.${this.nextOp}`
    const session = { client: `client${client}`, seq: ++this.seq[client] }
    const vector = [this.rng.next(), this.rng.next()]
    const op: Operation = { id: this.nextOp++, key, kind: 'put', value, call: this.world.now, ret: Infinity }
    this.history.push(op)
    const deadline = this.world.now + WRITE_BUDGET_MS
    let replyLostAt: number | undefined
    while (this.world.now < deadline) {
      const p = this.dataPeer()
      if (!p?.peer) {
        await this.sleep(20)
        continue
      }
      let r: WriteResult<{ upserted: number }>
      try {
        const write = p.peer
          .collection(COLLECTION)
          .upsert(key, vector, { v: value }, { session, timeoutMs: 800 })
        r = await this.within(write, 1000)
      } catch (err) {
        const code = (err as { code?: string }).code
        if (code === 'ERR_SESSION_REUSED' || code === 'ERR_STALE_SESSION')
          this.violations.push(
            `session: retry of ${value} (${session.client}#${session.seq}) refused: ${code}`,
          )
        await this.sleep(10 + this.rng.next() * 40)
        continue
      }
      if (replyLostAt === undefined && this.rng.chance(this.lostReply)) {
        // The write committed but its answer never reached the client: it retries the session.
        replyLostAt = r.index
        this.lostReplies++
        this.world.trace(`reply to ${value} (index ${r.index}) is lost; the client retries`)
        continue
      }
      if (replyLostAt !== undefined && r.index !== replyLostAt)
        this.violations.push(`session: ${value} answered index ${replyLostAt}, then ${r.index} on retry`)
      op.ret = this.world.now
      this.acked.push({ key, value, index: r.index, ret: op.ret })
      this.lastIndex[client] = Math.max(this.lastIndex[client], r.index)
      this.world.trace(`${p.id} acked ${value} at ${r.index}`)
      return
    }
  }

  private async read(client: number): Promise<void> {
    const p = this.dataPeer()
    if (!p?.peer) return
    const key = this.rng.pick(KEYS)
    const pick = this.rng.next()
    const maxStalenessMs = this.rng.pick([40, 80, 150, 300])
    const consistency: Consistency =
      pick < 0.3 ? 'linearizable' : pick < 0.55 ? 'lease' : pick < 0.85 ? { maxStalenessMs } : 'local'
    const level: ReadLevel = typeof consistency === 'object' ? 'bounded' : consistency
    const minIndex = this.rng.chance(0.3) && this.lastIndex[client] > 0 ? this.lastIndex[client] : undefined
    const call = this.world.now
    let r: ReadInfo & { point: { metadata: Record<string, unknown> | null } | null }
    try {
      const read = p.peer.collection(COLLECTION).get(key, { consistency, minIndex, timeoutMs: 700 })
      r = await this.within(read, READ_BUDGET_MS)
    } catch {
      this.count(`${level}:refused`)
      return // a read that failed has no effect
    }
    const v = r.point?.metadata?.v
    const value = typeof v === 'string' ? v : null
    this.count(minIndex === undefined ? level : `${level}+minIndex`)
    const bound = level === 'bounded' ? maxStalenessMs : level === 'local' ? r.stalenessMs : 0
    if (level === 'bounded' && (r.stalenessMs === null || r.stalenessMs > maxStalenessMs))
      this.violations.push(`bounded read at ${p.id} claims ${r.stalenessMs} ms, asked ${maxStalenessMs}`)
    this.served.push({ key, value, call, level, bound, minIndex, info: r })
    this.world.trace(`${p.id} read ${key}=${value} at ${r.index} (${level})`)
    if (level === 'linearizable' || level === 'lease')
      this.history.push({ id: this.nextOp++, key, kind: 'get', value, call, ret: this.world.now })
  }

  /** A witness must refuse every read. */
  private async witnessRead(): Promise<void> {
    const w = [...this.world.peers.values()].find((p) => p.role === 'witness' && p.peer)
    if (!w?.peer) return
    try {
      await this.within(w.peer.collection(COLLECTION).count({ consistency: 'local' }), 100)
      this.violations.push(`witness ${w.id} served a read`)
    } catch (err) {
      const code = (err as { code?: string }).code
      if (code !== 'ERR_WITNESS' && !(err instanceof Timeout))
        this.violations.push(`witness ${w.id} refused a read with ${code}, not ERR_WITNESS`)
    }
  }

  private count(kind: string): void {
    this.reads[kind] = (this.reads[kind] ?? 0) + 1
  }

  /** Every write changes the state at most once, wherever and however often it is retried. */
  private noteApplied(p: WorldPeer, e: Entry, r: ApplyResult): void {
    if (!r.ok || r.index !== e.index) return // refused, or a retry answered from the session table
    for (const [id, v] of this.writtenBy(e)) {
      const first = this.firstApplied.get(v)
      if (first === undefined) {
        this.firstApplied.set(v, e.index)
        const list = this.keyWrites.get(id) ?? []
        list.push(e.index)
        this.keyWrites.set(id, list)
      } else if (first !== e.index) {
        this.violations.push(`apply once: ${p.id} applied ${v} at ${e.index}, already applied at ${first}`)
      }
    }
  }

  /**
   * The (key, value) pairs an upsert entry writes. Every replica applies the same entry: it is
   * decoded once per index and reused while the bytes are the same.
   */
  private writtenBy(e: Entry): [string, string][] {
    const known = this.decoded.get(e.index)
    if (known && sameBytes(known.data, e.data)) return known.pairs
    const pairs: [string, string][] = []
    if (e.data.length > 0) {
      try {
        const cmd = decodeCommand(e.data)
        if (cmd.op === 'upsert')
          for (const item of cmd.items) {
            const v = item.metadata?.v
            if (typeof v === 'string') pairs.push([item.id, v])
          }
      } catch {
        // Not a command this workload wrote.
      }
    }
    this.decoded.set(e.index, { data: e.data, pairs })
    return pairs
  }

  /**
   * After the run: each answer is the state at the index it names (and at least minIndex), each
   * acknowledged write was applied where it says, and bounded answers miss no write
   * acknowledged more than their bound before they were asked.
   */
  check(): string[] {
    const out = [...this.violations]
    for (const list of this.keyWrites.values()) list.sort((a, b) => a - b)
    for (const w of this.acked) {
      const first = this.firstApplied.get(w.value)
      if (first !== w.index) out.push(`write ${w.value} acknowledged at ${w.index}, applied at ${first}`)
    }
    for (const r of this.served) {
      const at = r.value === null ? 0 : (this.firstApplied.get(r.value) ?? -1)
      if (at < 0) {
        out.push(`${r.info.peer} read ${r.key}=${r.value}, a value never applied`)
        continue
      }
      const expected = lastAtOrBefore(this.keyWrites.get(r.key) ?? [], r.info.index)
      if (at !== expected)
        out.push(
          `read index: ${r.info.peer} answered ${r.key} from write ${at} for index ${r.info.index} ` +
            `(the state there holds write ${expected}; ${r.level} at t=${r.call.toFixed(1)})`,
        )
      if (r.minIndex !== undefined && r.info.index < r.minIndex)
        out.push(`minIndex: ${r.info.peer} answered at index ${r.info.index} < minIndex ${r.minIndex}`)
      if (r.bound === null || r.level === 'linearizable' || r.level === 'lease') continue
      let required = 0
      for (const w of this.acked)
        if (w.key === r.key && w.ret < r.call - r.bound && w.index > required) required = w.index
      if (at < required)
        out.push(
          `bounded-staleness: ${r.info.peer} read ${r.key} at t=${r.call.toFixed(1)} (${r.level}, bound ` +
            `${r.bound.toFixed(1)} ms) from write ${at}, but write ${required} was acknowledged before`,
        )
    }
    return out.slice(0, 20)
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

function lastAtOrBefore(sorted: number[], index: number): number {
  let best = 0
  for (const i of sorted) {
    if (i > index) break
    best = i
  }
  return best
}
