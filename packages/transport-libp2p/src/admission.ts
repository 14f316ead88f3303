import type { Libp2p, PeerId, Stream } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { encodeFrame, FrameDecoder } from './framing.js'
import type { MembershipGate } from './gate.js'

/**
 * A peer that is not yet a member (a tab about to join) presents an admission token to a relay
 * or a member; if the application's `verify` accepts it, the gate admits the peer for a while,
 * long enough to reserve a relay slot and be added to the group.
 */
export const ADMISSION_PROTOCOL = '/flotilla/admit/1.0.0'

export interface AdmissionOptions {
  /** Decides whether `token` admits `peer` (e.g. an HMAC of the PeerId under a group secret). */
  verify: (token: Uint8Array, peer: string) => boolean | Promise<boolean>
  /** How long an admission lasts (default 2 min; a joining peer becomes a member before then). */
  ttlMs?: number
  /** Largest token read (default 1 KiB). */
  maxTokenBytes?: number
  /** Time a peer has to send its token (default 5 s). */
  timeoutMs?: number
}

const ACCEPTED = Uint8Array.of(1)
const REFUSED = Uint8Array.of(0)

/** Reads one frame from `stream`, or undefined if it ends, errs or times out first. */
function readFrame(stream: Stream, maxBytes: number, timeoutMs: number): Promise<Uint8Array | undefined> {
  return new Promise((resolve) => {
    const decoder = new FrameDecoder(maxBytes)
    const finish = (frame: Uint8Array | undefined): void => {
      clearTimeout(timer)
      stream.removeEventListener('message', onMessage)
      stream.removeEventListener('close', onEnd)
      stream.removeEventListener('remoteCloseWrite', onEnd)
      resolve(frame)
    }
    const onMessage = (e: { data: Uint8Array | Iterable<Uint8Array> }): void => {
      try {
        for (const chunk of e.data instanceof Uint8Array ? [e.data] : e.data) {
          const [frame] = decoder.push(chunk)
          if (frame) {
            finish(frame)
            return
          }
        }
      } catch {
        finish(undefined)
      }
    }
    const onEnd = (): void => finish(undefined)
    const timer = setTimeout(onEnd, timeoutMs)
    stream.addEventListener('message', onMessage)
    stream.addEventListener('close', onEnd)
    stream.addEventListener('remoteCloseWrite', onEnd)
  })
}

/** Admits peers that present a token `verify` accepts. Strangers may use it (relay mode). */
export async function serveAdmission(
  node: Libp2p,
  gate: MembershipGate,
  options: AdmissionOptions,
): Promise<void> {
  const ttlMs = options.ttlMs ?? 120_000
  await node.handle(
    ADMISSION_PROTOCOL,
    async (stream, connection) => {
      const peer = connection.remotePeer.toString()
      const token = await readFrame(stream, options.maxTokenBytes ?? 1024, options.timeoutMs ?? 5000)
      let ok = false
      try {
        ok = token !== undefined && (await options.verify(token, peer))
      } catch {
        ok = false
      }
      if (ok) gate.admit(peer, ttlMs)
      if (stream.writeStatus === 'writable') stream.send(encodeFrame(ok ? ACCEPTED : REFUSED))
      await stream.close().catch(() => stream.abort(new Error('admission stream failed')))
    },
    { maxInboundStreams: 1, maxOutboundStreams: 1 },
  )
}

/** Presents `token` to `peer` (a relay or a member); true if it admitted us. */
export async function requestAdmission(
  node: Libp2p,
  peer: PeerId | Multiaddr,
  token: Uint8Array,
  timeoutMs = 5000,
): Promise<boolean> {
  const stream = await node.dialProtocol(peer, ADMISSION_PROTOCOL, { signal: AbortSignal.timeout(timeoutMs) })
  stream.send(encodeFrame(token))
  const answer = await readFrame(stream, 1, timeoutMs).catch(() => undefined)
  void stream.close().catch(() => {})
  return answer?.[0] === 1
}
