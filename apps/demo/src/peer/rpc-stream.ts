import { dialWithRetry } from '@flotilla/transport-libp2p/browser'
import type { Libp2p, Stream } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

const MAX_BYTES = 16 * 1024

async function readAll(stream: Stream): Promise<unknown> {
  const parts: Uint8Array[] = []
  let size = 0
  for await (const chunk of stream) {
    const bytes = chunk instanceof Uint8Array ? chunk : chunk.subarray()
    size += bytes.byteLength
    if (size > MAX_BYTES) throw new Error(`message over ${MAX_BYTES} bytes`)
    parts.push(bytes)
  }
  const all = new Uint8Array(size)
  let at = 0
  for (const p of parts) {
    all.set(p, at)
    at += p.byteLength
  }
  return JSON.parse(new TextDecoder().decode(all))
}

const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value))

/** One JSON request, one JSON answer, on a fresh stream: each side half-closes after writing. */
export async function request<T>(
  node: Libp2p,
  to: Multiaddr,
  protocol: string,
  body: unknown,
  timeoutMs = 8000,
): Promise<T> {
  // A WebRTC dial sometimes hangs after ICE: short attempts, retried, rather than one long wait.
  const connection = await dialWithRetry(node, to, { attemptTimeoutMs: 5000, attempts: 3 })
  const signal = AbortSignal.timeout(timeoutMs)
  const stream = await connection.newStream(protocol, { signal, runOnLimitedConnection: true })
  try {
    stream.send(encode(body))
    await stream.close({ signal })
    return (await readAll(stream)) as T
  } catch (err) {
    stream.abort(err as Error)
    throw err
  }
}

/** Answers requests on `protocol` with `answer(body, fromPeerId)`. */
export async function serve(
  node: Libp2p,
  protocol: string,
  answer: (body: unknown, from: string) => Promise<unknown>,
): Promise<void> {
  await node.handle(
    protocol,
    async (stream, connection) => {
      try {
        const reply = await answer(await readAll(stream), connection.remotePeer.toString())
        stream.send(encode(reply))
        await stream.close()
      } catch (err) {
        stream.abort(err as Error)
      }
    },
    { runOnLimitedConnection: true },
  )
}
