/**
 * Two globals that libp2p's browser build expects and workerd lacks (measured; see README):
 * - `BroadcastChannel`: mortice (libp2p's peer-store lock) opens one to coordinate browser tabs;
 *   without it createLibp2p throws `ReferenceError: BroadcastChannel is not defined`. A Durable
 *   Object is one isolate, so a channel that reaches no one is exact.
 * - `WebSocket.prototype.bufferedAmount`: @libp2p/websockets polls it before each send; workerd's
 *   WebSocket has none (undefined, so the poll reads NaN and never drains), and every dial stalls
 *   until the noise handshake times out (`EncryptionFailedError: The operation was aborted due
 *   to timeout`). workerd queues sends itself, so 0 is what the poll should see.
 * Each is installed only where missing.
 */
const g = globalThis as Record<string, unknown>

if (typeof g.BroadcastChannel !== 'function') {
  g.BroadcastChannel = class IsolateBroadcastChannel {
    onmessage: unknown = null
    constructor(readonly name: string) {}
    postMessage(): void {}
    addEventListener(): void {}
    removeEventListener(): void {}
    close(): void {}
  }
}

const socketProto = (g.WebSocket as { prototype?: object } | undefined)?.prototype
if (socketProto && !('bufferedAmount' in socketProto)) {
  Object.defineProperty(socketProto, 'bufferedAmount', { get: () => 0 })
}
