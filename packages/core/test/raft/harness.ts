import {
  type ConfState,
  type Entry,
  EntryType,
  type Message,
  MessageType,
  type RaftConfig,
} from '../../src/index.js'
import { MemoryLog } from '../../src/raft/log-storage.js'
import { MemorySnapshots } from '../../src/raft/memory-snapshots.js'
import type { ReadState } from '../../src/raft/raft.js'
import { RawNode } from '../../src/raft/raw-node.js'

export interface TestPeer {
  id: string
  node: RawNode
  log: MemoryLog
  /** Snapshot bytes: the log keeps only metadata and size. */
  snaps: MemorySnapshots
  applied: Entry[]
  readStates: ReadState[]
}

export interface NetOptions {
  learners?: string[]
  witnesses?: string[]
  config?: (id: string) => Partial<RaftConfig>
}

/**
 * A synchronous in-memory network for scenario tests: messages are delivered in order until the
 * group is quiet, and links can be cut. Randomness is fixed so timeouts are predictable
 * (a randomized timeout of 2 * electionTick - 1).
 */
export class TestNet {
  readonly peers = new Map<string, TestPeer>()
  readonly cut = new Set<string>()
  /** Every message delivered, for assertions about traffic. */
  readonly delivered: Message[] = []
  /** Peers whose Ready loop a test drives by hand: stabilize() leaves them alone. */
  readonly manual = new Set<string>()
  /** Optional filter: return false to drop a message. */
  filter: ((m: Message) => boolean) | null = null
  private queue: Message[] = []

  constructor(
    readonly voters: string[],
    private readonly opts: NetOptions = {},
  ) {
    const conf: ConfState = {
      voters: [...voters, ...(opts.witnesses ?? [])],
      outgoing: [],
      learners: opts.learners ?? [],
      learnersNext: [],
      witnesses: opts.witnesses ?? [],
      autoLeave: false,
    }
    for (const id of [...conf.voters, ...conf.learners]) this.add(id, conf)
  }

  add(id: string, conf: ConfState): TestPeer {
    const log = new MemoryLog(conf)
    const peer: TestPeer = {
      id,
      log,
      snaps: new MemorySnapshots(),
      node: this.makeNode(id, log),
      applied: [],
      readStates: [],
    }
    this.peers.set(id, peer)
    return peer
  }

  private makeNode(id: string, log: MemoryLog): RawNode {
    return new RawNode({
      id,
      storage: log,
      random: () => 0.99,
      electionTick: 10,
      heartbeatTick: 1,
      witness: (this.opts.witnesses ?? []).includes(id),
      ...(this.opts.config?.(id) ?? {}),
    })
  }

  /** Replaces a peer's Raft with a fresh one over its durable log: a crash and restart. */
  restart(id: string): void {
    const p = this.peer(id)
    p.node = this.makeNode(id, p.log)
    p.snaps.crash()
    p.applied = []
  }

  peer(id: string): TestPeer {
    const p = this.peers.get(id)
    if (!p) throw new Error(`no peer ${id}`)
    return p
  }

  raft(id: string) {
    return this.peer(id).node.raft
  }

  /** Ticks every peer past its boot quiet period without anyone campaigning. */
  warm(): void {
    for (let i = 0; i < 10; i++) for (const p of this.peers.values()) p.node.tick()
    this.stabilize()
  }

  /** Ticks the given peers one election timeout without a leader's word: any lease on them lapses. */
  lapse(ids: string[]): void {
    for (let i = 0; i < 10; i++) for (const id of ids) this.tick(id)
    this.stabilize()
  }

  /** Starts an election at `id` and runs the group until quiet. */
  elect(id: string): void {
    this.peer(id).node.campaign()
    this.stabilize()
  }

  tick(id: string, n = 1): void {
    for (let i = 0; i < n; i++) this.peer(id).node.tick()
  }

  tickAll(n = 1): void {
    for (let i = 0; i < n; i++) {
      for (const p of this.peers.values()) p.node.tick()
      this.stabilize()
    }
  }

  propose(id: string, text: string): void {
    this.peer(id).node.propose(new TextEncoder().encode(text))
    this.stabilize()
  }

  isolate(id: string): void {
    for (const other of this.peers.keys()) {
      if (other === id) continue
      this.cut.add(`${id}>${other}`)
      this.cut.add(`${other}>${id}`)
    }
  }

  heal(): void {
    this.cut.clear()
  }

  /** Processes Readies and delivers messages until nothing moves. */
  stabilize(): void {
    for (let rounds = 0; rounds < 100_000; rounds++) {
      let moved = false
      for (const p of this.peers.values()) if (!this.manual.has(p.id)) moved = this.process(p) || moved
      const batch = this.queue
      this.queue = []
      for (const m of batch) {
        const target = this.peers.get(m.to)
        if (!target || this.cut.has(`${m.from}>${m.to}`)) continue
        if (this.filter && !this.filter(m)) continue
        this.delivered.push(m)
        target.node.step(m)
        moved = true
      }
      if (!moved) return
    }
    throw new Error('network did not settle')
  }

  /** Runs one peer's Ready loop, as a driver would: persist, send, apply, advance. */
  process(p: TestPeer): boolean {
    let moved = false
    while (p.node.hasReady()) {
      moved = true
      const rd = p.node.ready()
      p.snaps.write(rd.snapshotChunks)
      if (rd.snapshot) {
        p.snaps.install(rd.snapshot)
        p.log.applySnapshot(rd.snapshot)
      }
      p.log.append(rd.entries)
      if (rd.hardState) p.log.setHardState(rd.hardState)
      if (rd.witnessCompact) {
        p.log.createSnapshot(rd.witnessCompact, 0)
        p.snaps.take(rd.witnessCompact, new Uint8Array(0))
      }
      for (const m of rd.messages) {
        const filled = p.snaps.fill(m)
        if (filled) this.queue.push(filled)
      }
      for (const e of rd.committedEntries)
        if (e.type === EntryType.Normal && e.data.length > 0) p.applied.push(e)
      p.readStates.push(...rd.readStates)
      p.node.advance()
    }
    return moved
  }

  leader(): string | undefined {
    const leaders = [...this.peers.values()].filter((p) => p.node.raft.role === 'leader')
    leaders.sort((a, b) => b.node.raft.term - a.node.raft.term)
    return leaders[0]?.id
  }

  appliedText(id: string): string[] {
    return this.peer(id).applied.map((e) => new TextDecoder().decode(e.data))
  }

  countDelivered(type: MessageType, to?: string): number {
    return this.delivered.filter((m) => m.type === type && (to === undefined || m.to === to)).length
  }
}

export { MessageType }
