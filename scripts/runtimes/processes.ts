import { type ChildProcess, spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { WebSocket } from 'ws'

const require = createRequire(import.meta.url)

/**
 * Deno from the npm `deno` package, as its binary (not bin.cjs, whose child would outlive a kill):
 * install_api finds the per-platform binary without the (blocked) postinstall script.
 */
export const DENO: string[] = [(require('deno/install_api.cjs') as { runInstall(): string }).runInstall()]

export interface Started {
  child: ChildProcess
  /** The JSON object the program printed first on stdout (its port, for a server; its pid). */
  hello: Record<string, unknown>
  stop(): Promise<void>
}

/** Starts `command` and waits for its first stdout line, a JSON object; stderr is kept for errors. */
export function startProgram(
  command: string[],
  options: { cwd?: string; timeoutMs?: number } = {},
): Promise<Started> {
  const [bin, ...args] = command
  const child = spawn(bin, args, { cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString()
  })
  let hello: Record<string, unknown> = {}
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise((resolve) => child.once('exit', resolve))
    // A program started under a wrapper (strace) names its own pid: end it, the wrapper follows.
    if (typeof hello.pid === 'number' && hello.pid !== child.pid) process.kill(hello.pid, 'SIGTERM')
    else child.kill('SIGTERM')
    await exited
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop()
      reject(
        new Error(`${args.join(' ')}: no hello line within ${options.timeoutMs ?? 60_000} ms\n${stderr}`),
      )
    }, options.timeoutMs ?? 60_000)
    let out = ''
    const onData = (d: Buffer) => {
      out += d.toString()
      const nl = out.indexOf('\n')
      if (nl < 0) return
      child.stdout?.off('data', onData)
      clearTimeout(timer)
      try {
        hello = JSON.parse(out.slice(0, nl))
        resolve({ child, hello, stop })
      } catch {
        void stop()
        reject(new Error(`${args.join(' ')}: first line is not JSON: ${out.slice(0, nl)}\n${stderr}`))
      }
    }
    child.stdout?.on('data', onData)
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`${args.join(' ')} exited (${code}) before its hello line\n${stderr}`))
    })
  })
}

/** Opens a WebSocket and resolves once it is open. */
export function openSocket(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url)
    socket.binaryType = 'nodebuffer'
    socket.once('open', () => resolve(socket))
    socket.once('error', reject)
  })
}
