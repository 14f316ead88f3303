import { createServer } from 'node:net'

// Ports the kernel hands out for outgoing connections and `listen(0)` (Linux's default range
// starts at 32768, macOS's at 49152). A port taken from there and freed again can be grabbed by
// any outgoing dial before the process we start binds it, so tests pick theirs below it.
const LOW = 20_000
const HIGH = 32_000

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}

/** A port free right now on 127.0.0.1, outside the range the kernel picks ports from. */
export async function freePort(): Promise<number> {
  for (let tries = 0; tries < 200; tries++) {
    const port = LOW + Math.floor(Math.random() * (HIGH - LOW))
    if (await bindable(port)) return port
  }
  throw new Error(`no free port on 127.0.0.1 between ${LOW} and ${HIGH}`)
}
