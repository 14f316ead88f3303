import { mkdirSync, statSync, unlinkSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

// Ports the kernel hands out for outgoing connections and `listen(0)` start at 32768 on Linux
// (49152 on macOS). A port taken from there and freed again can be grabbed by any outgoing dial
// before the process we start binds it, so tests pick theirs below that range.
const LOW = 20_000
const HIGH = 32_000
// Test files run in several worker processes at once: each port handed out is claimed with a
// file, so no other process hands it out again while a test may still be starting on it.
const CLAIMS = join(tmpdir(), 'flotilla-port-claims')
const CLAIM_LIFE_MS = 15 * 60_000

function claim(port: number): boolean {
  const file = join(CLAIMS, String(port))
  try {
    writeFileSync(file, String(process.pid), { flag: 'wx' })
    return true
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    try {
      if (Date.now() - statSync(file).mtimeMs < CLAIM_LIFE_MS) return false
      unlinkSync(file)
    } catch {
      return false // another process is renewing or removing the same claim
    }
    return claim(port)
  }
}

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}

/** A port free right now on 127.0.0.1 that no other caller of this function was given lately. */
export async function freePort(): Promise<number> {
  mkdirSync(CLAIMS, { recursive: true })
  for (let tries = 0; tries < 500; tries++) {
    const port = LOW + Math.floor(Math.random() * (HIGH - LOW))
    if (claim(port) && (await bindable(port))) return port
  }
  throw new Error(`no free port on 127.0.0.1 between ${LOW} and ${HIGH}`)
}
