// The few workerd globals this app uses (no @cloudflare/workers-types, to keep installs small).

export interface DurableObjectStub {
  fetch(request: Request): Promise<Response>
}

export interface DurableObjectNamespace {
  idFromName(name: string): unknown
  get(id: unknown): DurableObjectStub
}

export interface DurableObjectState {
  storage: import('./do-storage.js').DurableObjectStorageLike
  blockConcurrencyWhile<T>(fn: () => Promise<T>): Promise<T>
}

/** A server-side WebSocket from a WebSocketPair, accepted by this worker. */
export interface WorkerSocket {
  accept(): void
  send(data: ArrayBuffer | Uint8Array | string): void
  close(code?: number, reason?: string): void
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void
  addEventListener(type: 'close' | 'error', listener: () => void): void
}

declare global {
  const WebSocketPair: new () => { 0: WorkerSocket; 1: WorkerSocket }
}

/** Answers a WebSocket upgrade with one end of a new pair; `serve` gets the other, accepted. */
export function acceptWebSocket(serve: (socket: WorkerSocket) => void): Response {
  const pair = new WebSocketPair()
  pair[1].accept()
  serve(pair[1])
  // workerd's ResponseInit takes the client end of the pair.
  return new Response(null, { status: 101, webSocket: pair[0] } as ResponseInit)
}
