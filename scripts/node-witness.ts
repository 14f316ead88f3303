import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { existsSync, mkdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { freePort } from './free-port.js'

/** The Node program (apps/peer) started as the group's relay and witness. */
export interface NodeWitness {
  id: string
  /** Its WebSocket multiaddr, ending in /p2p/<id>: where tabs meet. */
  relay: string
  /** Its HTTP API. */
  http: string
  child: ChildProcess
  /** SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>
}

export interface NodeWitnessOptions {
  /** Data folder: identity and Raft log survive a restart. */
  data: string
  /** WebSocket port for tabs (0: any free port). */
  wsPort?: number
  /** HTTP API port (0: any free port). */
  httpPort?: number
  /** Gets every output line of the program (JSON log lines). */
  onLine?: (line: string) => void
}

/** The program; FLOTILLA_PEER_BIN points elsewhere (a .ts file runs through tsx). */
const BIN =
  process.env.FLOTILLA_PEER_BIN ??
  fileURLToPath(new URL('../apps/peer/bin/flotilla-peer.js', import.meta.url))

export { freePort }

const nodeArgs = (args: string[]) => [...(BIN.endsWith('.ts') ? ['--import', 'tsx'] : []), BIN, ...args]

/**
 * Starts `flotilla-peer start --role witness --relay` and resolves once it logs `started` with
 * its id and addresses. It must start empty and wait to be added, since the first tab founds the
 * group and adds it (a witness founding a group alone could take no member: a witness leader
 * takes no proposals). The program has no "wait" flag, so it is told to `--join` through its
 * own address: nobody answers there, and once a tab has added it, it is a member and stops asking.
 */
export async function startNodeWitness(options: NodeWitnessOptions): Promise<NodeWitness> {
  if (!existsSync(BIN)) throw new Error(`the Node peer program is missing: ${BIN} (apps/peer)`)
  mkdirSync(options.data, { recursive: true })
  const { stdout } = await promisify(execFile)(process.execPath, nodeArgs(['init', '--data', options.data]))
  const { id } = JSON.parse(stdout) as { id: string }
  const wsPort = options.wsPort || (await freePort())
  const ws = `/ip4/127.0.0.1/tcp/${wsPort}/ws`
  const args = nodeArgs([
    'start',
    '--data',
    options.data,
    '--role',
    'witness',
    '--relay',
    '--listen',
    ws,
    '--http',
    `127.0.0.1:${options.httpPort ?? 0}`,
    '--join',
    `${ws}/p2p/${id}`,
  ])
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  const started = new Promise<{ id: string; relay: string; http: string }>((resolve, reject) => {
    let buffer = ''
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString()
      let nl = buffer.indexOf('\n')
      while (nl >= 0) {
        const line = buffer.slice(0, nl)
        buffer = buffer.slice(nl + 1)
        nl = buffer.indexOf('\n')
        options.onLine?.(line)
        const parsed = parseStarted(line)
        if (parsed) resolve(parsed)
      }
    }
    child.stdout?.on('data', onData)
    child.stderr?.on('data', onData)
    child.once('exit', (code) => reject(new Error(`flotilla-peer exited with ${code} before it started`)))
  })
  const info = await started
  let exited = child.exitCode !== null
  const exit = new Promise<void>((resolve) => {
    if (exited) resolve()
    child.once('exit', () => {
      exited = true
      resolve()
    })
  })
  return {
    ...info,
    child,
    async stop(graceMs = 8000) {
      if (exited) return
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
      await exit
      clearTimeout(timer)
    },
  }
}

function parseStarted(line: string): { id: string; relay: string; http: string } | null {
  if (!line.startsWith('{')) return null
  try {
    const entry = JSON.parse(line) as { event?: string; id?: string; multiaddrs?: string[]; http?: string }
    if (entry.event !== 'started' || !entry.id || !entry.multiaddrs) return null
    const ws = entry.multiaddrs.find((a) => a.includes('/ws') && a.startsWith('/ip4/127.0.0.1'))
    if (!ws) return null
    const relay = ws.includes('/p2p/') ? ws : `${ws}/p2p/${entry.id}`
    return { id: entry.id, relay, http: entry.http ?? '' }
  } catch {
    return null
  }
}
