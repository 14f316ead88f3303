/**
 * The attacker of the hostile bench, in its own process so that its work does not count as the
 * victim's stall. Modes:
 * - `one-byte <victimAddr> <memberKeyHex> <bytes>`: as a member, connects and prints
 *   `{"ready"}`, then sends one App frame of `bytes` as 1-byte writes until done or cut off, and
 *   prints `{"written","of"}`;
 * - `strangers <victimAddr> <count> <seconds>`: `count` throwaway identities each try, for
 *   `seconds`, to open Raft and snapshot streams and push frames at their caps.
 */
import { encodeMessage, MessageType } from '@flotilla/core'
import { privateKeyFromProtobuf } from '@libp2p/crypto/keys'
import type { Libp2p, Stream } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { encodeFrame, RAFT_PROTOCOL, SNAPSHOT_PROTOCOL } from '../src/index.js'
import { nodePeer } from '../src/node/index.js'
import { drainedTo } from '../test/raw-send.js'

const [mode, addrText, a, b] = process.argv.slice(2)
const victim = multiaddr(addrText)
const tcpOnly = { host: '127.0.0.1', wsPort: false, quicPort: false, webrtcDirectPort: false } as const

async function oneByte(keyHex: string, bytes: number): Promise<void> {
  const privateKey = privateKeyFromProtobuf(Buffer.from(keyHex, 'hex'))
  const node = await createLibp2p(nodePeer({ ...tcpOnly, privateKey }))
  const stream = await node.dialProtocol(victim, RAFT_PROTOCOL)
  // Connected: the victim starts timing now, without our start-up (tsx, libp2p) competing for
  // its CPU, as an attacker on another machine would not.
  console.log(JSON.stringify({ ready: true }))
  await new Promise((r) => setTimeout(r, 300))
  const to = victim.getComponents().find((c) => c.name === 'p2p')?.value ?? ''
  const frame = encodeFrame(
    encodeMessage({
      type: MessageType.App,
      from: node.peerId.toString(),
      to,
      term: 2,
      index: 1,
      logTerm: 1,
      entries: [{ term: 2, index: 2, type: 0, data: new Uint8Array(bytes) }],
    }),
  )
  let i = 0
  try {
    for (; i < frame.byteLength && stream.writeStatus === 'writable'; i++) {
      stream.send(frame.subarray(i, i + 1))
      if (stream.writeBufferLength > 64 * 1024) await drainedTo(stream, 16 * 1024)
    }
    await drainedTo(stream, 0)
  } catch {
    // Reset by the victim.
  }
  console.log(JSON.stringify({ written: i, of: frame.byteLength }))
  await new Promise((r) => setTimeout(r, 60_000))
}

async function push(node: Libp2p, protocol: string, frameBytes: number): Promise<void> {
  let stream: Stream
  try {
    stream = await node.dialProtocol(victim, protocol, { signal: AbortSignal.timeout(2000) })
  } catch {
    return
  }
  // A frame at the cap, announced and then sent in 64 KiB pieces.
  const frame = encodeFrame(new Uint8Array(frameBytes))
  try {
    for (let at = 0; at < frame.byteLength && stream.writeStatus === 'writable'; at += 64 * 1024) {
      stream.send(frame.subarray(at, at + 64 * 1024))
      if (stream.writeBufferLength > 256 * 1024) await drainedTo(stream, 64 * 1024)
    }
  } catch {
    // Reset by the victim.
  }
}

async function strangers(count: number, seconds: number): Promise<void> {
  const nodes = await Promise.all(Array.from({ length: count }, () => createLibp2p(nodePeer(tcpOnly))))
  const until = Date.now() + seconds * 1000
  console.log('started')
  while (Date.now() < until) {
    await Promise.all(
      nodes.flatMap((n) => [
        ...Array.from({ length: 8 }, () => push(n, RAFT_PROTOCOL, 4 * 1024 * 1024 - 16)),
        ...Array.from({ length: 8 }, () => push(n, SNAPSHOT_PROTOCOL, 8 * 1024 * 1024 - 16)),
      ]),
    )
    await new Promise((r) => setTimeout(r, 100))
  }
  console.log('done')
  process.exit(0)
}

if (mode === 'one-byte') await oneByte(a, Number(b))
else await strangers(Number(a), Number(b))
