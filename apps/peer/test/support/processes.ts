import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { freePort } from '../../../../scripts/free-port.js'
import { loadIdentity } from '../../src/main.js'
import { HttpClient } from './http-client.js'

const BIN = join(dirname(fileURLToPath(import.meta.url)), '../../bin/flotilla-peer.js')

export { freePort }

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Polls `check` every 100 ms until it returns a value other than undefined/false. */
export async function until<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  while (Date.now() < deadline) {
    try {
      const v = await check()
      if (v !== undefined && v !== false) return v
    } catch (error) {
      last = error
    }
    await sleep(100)
  }
  throw new Error(`timed out waiting for ${what}${last ? ` (${(last as Error).message})` : ''}`)
}

export interface PeerSpec {
  role?: 'data' | 'witness'
  /** Extra flags for `start`. */
  args?: string[]
}

/** One `flotilla-peer start` process on loopback with its own data folder and ports. */
export class PeerProcess {
  child: ChildProcess | null = null
  output = ''
  exited: Promise<number | null> = Promise.resolve(null)
  readonly url: string
  /** Flags for node itself (e.g. `--cpu-prof`), before the program. */
  nodeArgs: string[] = []

  constructor(
    readonly id: string,
    readonly data: string,
    readonly tcpPort: number,
    readonly httpPort: number,
    readonly role: 'data' | 'witness',
  ) {
    this.url = `http://127.0.0.1:${httpPort}`
  }

  get multiaddr(): string {
    return `/ip4/127.0.0.1/tcp/${this.tcpPort}/p2p/${this.id}`
  }

  static async create(root: string, name: string, role: 'data' | 'witness' = 'data'): Promise<PeerProcess> {
    const data = join(root, name)
    const id = peerIdFromPrivateKey(await loadIdentity(data)).toString()
    return new PeerProcess(id, data, await freePort(), await freePort(), role)
  }

  /** Spawns the program; `extra` are flags after the common ones. */
  start(extra: string[]): void {
    const args = [
      ...this.nodeArgs,
      BIN,
      'start',
      '--data',
      this.data,
      '--listen',
      `/ip4/127.0.0.1/tcp/${this.tcpPort}`,
      '--http',
      `127.0.0.1:${this.httpPort}`,
      '--role',
      this.role,
      ...extra,
    ]
    this.output = ''
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    child.stdout?.on('data', (d: Buffer) => {
      this.output += d.toString()
    })
    child.stderr?.on('data', (d: Buffer) => {
      this.output += d.toString()
    })
    this.exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)))
    this.child = child
  }

  get running(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null
  }

  /** Stopped with SIGSTOP and not yet continued: clients should not wait on it. */
  paused = false

  signal(sig: NodeJS.Signals): void {
    this.child?.kill(sig)
    if (sig === 'SIGSTOP') this.paused = true
    if (sig === 'SIGCONT') this.paused = false
  }

  async kill(): Promise<void> {
    if (!this.running) return
    this.signal('SIGKILL')
    await this.exited
  }

  /** JSON log lines of this run. */
  logs(): Array<Record<string, unknown>> {
    return this.output
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
  }
}

export interface ClusterOptions {
  data: number
  witnesses?: number
  /** Flags every peer starts with. */
  args?: string[]
}

/** Founding members started together, each listing the others with --peer / --witness. */
export class TestCluster {
  readonly http = new HttpClient(128)
  private constructor(
    readonly root: string,
    readonly peers: PeerProcess[],
    readonly args: string[],
  ) {}

  static async start(options: ClusterOptions): Promise<TestCluster> {
    const root = await mkdtemp(join(tmpdir(), 'flotilla-peer-'))
    const peers: PeerProcess[] = []
    for (let i = 0; i < options.data; i++) peers.push(await PeerProcess.create(root, `d${i}`))
    for (let i = 0; i < (options.witnesses ?? 0); i++)
      peers.push(await PeerProcess.create(root, `w${i}`, 'witness'))
    const cluster = new TestCluster(root, peers, options.args ?? FAST)
    for (const p of peers) cluster.startPeer(p)
    await cluster.waitReady()
    // waitReady counts running peers only: a founder that exited at start would go unseen.
    const gone = peers.filter((p) => !p.running)
    if (gone.length > 0) {
      await cluster.stop()
      throw new Error(gone.map((p) => `${p.id} exited at start:\n${p.output.slice(-3000)}`).join('\n'))
    }
    return cluster
  }

  get dataPeers(): PeerProcess[] {
    return this.peers.filter((p) => p.role === 'data')
  }

  founderFlags(p: PeerProcess): string[] {
    return this.peers
      .filter((o) => o !== p)
      .flatMap((o) => [o.role === 'witness' ? '--witness' : '--peer', o.multiaddr])
  }

  startPeer(p: PeerProcess): void {
    p.start([...this.founderFlags(p), ...this.args])
  }

  async status(p: PeerProcess): Promise<Status> {
    return (await this.http.get<Status>(`${p.url}/v1/status`)).body
  }

  /** Every running peer answers and agrees on one leader; returns the leader's process. */
  async waitReady(timeoutMs = 60_000): Promise<PeerProcess> {
    return until(
      'a leader every running peer knows',
      async () => {
        const running = this.peers.filter((p) => p.running)
        const statuses = await Promise.all(running.map((p) => this.status(p)))
        const leader = statuses[0]?.leader
        if (!leader || !statuses.every((s) => s.leader === leader && s.state === 'running')) return undefined
        return this.peers.find((p) => p.id === leader && p.running)
      },
      timeoutMs,
    )
  }

  async leader(): Promise<PeerProcess> {
    return this.waitReady()
  }

  async stop(): Promise<void> {
    await Promise.all(this.peers.map((p) => p.kill()))
    this.http.close()
    await rm(this.root, { recursive: true, force: true })
  }
}

export interface Status {
  id: string
  role: string
  raftRole: string
  state: string
  term: number
  leader: string | null
  commit: number
  applied: number
  lastIndex: number
  members: Array<{ id: string; kind: string; match?: number }>
}

/**
 * Test timing: 50 ms ticks, elections after 20 to 40 ticks (1 to 2 s, the defaults' timeout):
 * shorter timeouts bring spurious elections on a loaded 2-core machine.
 */
export const FAST = ['--tick-ms', '50', '--election-ticks', '20', '--log-level', 'info']
