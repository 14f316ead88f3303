import type { Libp2p, PeerId, Stream } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { Uint8ArrayList } from 'uint8arraylist'

/** Small JSON request/response exchanges between peers (admin and address protocols). */
const MAX_BYTES = 256 * 1024

async function readAll(stream: Stream): Promise<unknown> {
  const buffer = new Uint8ArrayList()
  for await (const chunk of stream) {
    buffer.append(chunk)
    if (buffer.byteLength > MAX_BYTES) {
      stream.abort(new Error(`message over ${MAX_BYTES} bytes`))
      throw new Error(`message over ${MAX_BYTES} bytes`)
    }
  }
  return JSON.parse(new TextDecoder().decode(buffer.subarray()))
}

async function write(stream: Stream, value: unknown): Promise<void> {
  stream.send(new TextEncoder().encode(JSON.stringify(value)))
  await stream.close()
}

/** Sends `body` on a new stream of `protocol` and resolves the JSON answer. */
export async function request<T>(
  node: Libp2p,
  to: PeerId | Multiaddr,
  protocol: string,
  body: unknown,
  timeoutMs: number,
): Promise<T> {
  const signal = AbortSignal.timeout(timeoutMs)
  const stream = await node.dialProtocol(to, protocol, { signal })
  // The deadline covers the answer too: a peer that never answers must not hold us forever.
  const onAbort = () => stream.abort(new Error(`no answer to ${protocol} within ${timeoutMs} ms`))
  signal.addEventListener('abort', onAbort, { once: true })
  try {
    await write(stream, body)
    return (await readAll(stream)) as T
  } catch (error) {
    stream.abort(error as Error)
    throw signal.aborted ? new Error(`no answer to ${protocol} within ${timeoutMs} ms`) : error
  } finally {
    signal.removeEventListener('abort', onAbort)
  }
}

/**
 * Answers each request of `protocol` with `respond(body, remotePeer)`. A peer `allow` refuses
 * has its stream reset before a byte of it is read.
 */
export async function serve(
  node: Libp2p,
  protocol: string,
  respond: (body: unknown, from: PeerId) => Promise<unknown>,
  allow: (from: PeerId) => boolean = () => true,
): Promise<void> {
  await node.handle(
    protocol,
    async (stream, connection) => {
      if (!allow(connection.remotePeer)) {
        stream.abort(new Error(`peer ${connection.remotePeer} may not use ${protocol}`))
        return
      }
      try {
        const body = await readAll(stream)
        await write(stream, await respond(body, connection.remotePeer))
      } catch (error) {
        stream.abort(error as Error)
      }
    },
    { maxInboundStreams: 16 },
  )
}
