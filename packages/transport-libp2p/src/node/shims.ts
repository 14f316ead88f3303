import { WebSocket as NodeWebSocket } from 'ws'

/**
 * Node 20 lacks two globals that libp2p 3 relies on; each is installed only where missing, so
 * Node 22+ and browsers are untouched. Imported by the Node entry points, never by core.
 */
type WithResolvers = <T>() => { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void }

const P = Promise as unknown as { withResolvers?: WithResolvers }
if (typeof P.withResolvers !== 'function') {
  // libp2p 3 calls it during the noise handshake; without it dials fail as EncryptionFailedError.
  P.withResolvers = <T>() => {
    let resolve!: (v: T) => void
    let reject!: (e: unknown) => void
    const promise = new Promise<T>((res, rej) => {
      resolve = res
      reject = rej
    })
    return { promise, resolve, reject }
  }
}

const g = globalThis as { WebSocket?: unknown }
// @libp2p/websockets dials with the global WebSocket, which Node 20 does not have.
if (typeof g.WebSocket !== 'function') g.WebSocket = NodeWebSocket
