import { MessageType } from '@flotilla/core'
import type { Stream } from '@libp2p/interface'
import { introduce, type Kind, startPeer, type TestPeer } from '../test/helpers.js'
import { rawSend } from '../test/raw-send.js'
import { type EnvFigures, median, percentile, throughput } from './measure.js'

/** The baseline: a raw libp2p stream, no framing, no codec. It counts bytes, or echoes them. */
export const RAW_PROTOCOL = '/flotilla-bench/raw/1.0.0'
export const RAW_ECHO_PROTOCOL = '/flotilla-bench/raw-echo/1.0.0'

const BIG_QUEUE = { maxQueuedFrames: 1_000_000, maxQueuedBytes: 1024 * 1024 * 1024 }

interface Side {
  peer: TestPeer
  /** Resolves when `n` more Raft messages have arrived. */
  nextMessages(n: number): Promise<void>
  nextRawBytes(n: number): Promise<void>
}

async function side(kind: Kind): Promise<Side> {
  const peer = await startPeer(kind, { transport: { queue: BIG_QUEUE } })
  let messages = 0
  let rawBytes = 0
  let wait: { check: () => void } | undefined
  peer.transport.onMessage((m) => {
    messages++
    if (m.type === MessageType.Heartbeat) {
      peer.transport.send({ type: MessageType.HeartbeatResp, from: m.to, to: m.from, term: m.term })
    }
    wait?.check()
  })
  await peer.node.handle(RAW_PROTOCOL, (stream: Stream) => {
    stream.addEventListener('message', (e) => {
      rawBytes += e.data.byteLength
      wait?.check()
    })
  })
  await peer.node.handle(RAW_ECHO_PROTOCOL, (stream: Stream) => {
    stream.addEventListener('message', (e) => stream.send(e.data))
  })
  const until = (cond: () => boolean): Promise<void> =>
    new Promise((resolve) => {
      if (cond()) return resolve()
      wait = {
        check: () => {
          if (!cond()) return
          wait = undefined
          resolve()
        },
      }
    })
  return {
    peer,
    nextMessages: (n) => {
      const target = messages + n
      return until(() => messages >= target)
    },
    nextRawBytes: (n) => {
      const target = rawBytes + n
      return until(() => rawBytes >= target)
    },
  }
}

async function ours(a: Side, b: Side, count: number, bytes: number): Promise<number> {
  const to = b.peer.transport.localId
  const done = b.nextMessages(count)
  const t0 = performance.now()
  const from = a.peer.transport.localId
  // One fresh zeroed payload per message, as the raw baseline allocates one per write.
  for (let i = 0; i < count; i++) {
    a.peer.transport.send({
      type: MessageType.App,
      from,
      to,
      term: 1,
      index: i,
      entries: [{ term: 1, index: i + 1, type: 0, data: new Uint8Array(bytes) }],
    })
  }
  await done
  return performance.now() - t0
}

async function raw(stream: Stream, b: Side, count: number, bytes: number): Promise<number> {
  const done = b.nextRawBytes(count * bytes)
  const t0 = performance.now()
  await rawSend(stream, count, bytes)
  await done
  return performance.now() - t0
}

export async function measureNode(
  kind: Kind,
  counts: { small: number; large: number; pings: number; rounds: number },
): Promise<EnvFigures> {
  const a = await side(kind)
  const b = await side(kind)
  await introduce(a.peer, b.peer)
  await introduce(b.peer, a.peer)
  const stream = await a.peer.node.dialProtocol(b.peer.node.peerId, RAW_PROTOCOL)
  const to = b.peer.transport.localId
  // Warm up both paths (connection, JIT) before timing.
  await ours(a, b, 2000, 128)
  await raw(stream, b, 2000, 128)

  const runs = {
    small: [] as number[],
    large: [] as number[],
    rawSmall: [] as number[],
    rawLarge: [] as number[],
  }
  for (let r = 0; r < counts.rounds; r++) {
    // Alternate which goes first so neither always runs on a warmer process.
    if (r % 2 === 0) {
      runs.small.push(await ours(a, b, counts.small, 128))
      runs.rawSmall.push(await raw(stream, b, counts.small, 128))
      runs.large.push(await ours(a, b, counts.large, 65536))
      runs.rawLarge.push(await raw(stream, b, counts.large, 65536))
    } else {
      runs.rawSmall.push(await raw(stream, b, counts.small, 128))
      runs.small.push(await ours(a, b, counts.small, 128))
      runs.rawLarge.push(await raw(stream, b, counts.large, 65536))
      runs.large.push(await ours(a, b, counts.large, 65536))
    }
  }

  const rtt: number[] = []
  const rawRtt: number[] = []
  let rawEchoed = 0
  let rawWake: (() => void) | undefined
  const echo = await a.peer.node.dialProtocol(b.peer.node.peerId, RAW_ECHO_PROTOCOL)
  echo.addEventListener('message', (e) => {
    rawEchoed += e.data.byteLength
    rawWake?.()
  })
  let replies = 0
  let wake: (() => void) | undefined
  a.peer.transport.onMessage(() => {
    replies++
    wake?.()
  })
  for (let i = 0; i < counts.pings; i++) {
    const before = replies
    let t0 = performance.now()
    const got = new Promise<void>((r) => {
      wake = () => replies > before && r()
    })
    a.peer.transport.send({
      type: MessageType.Heartbeat,
      from: a.peer.transport.localId,
      to,
      term: 1,
      commit: i,
    })
    await got
    rtt.push(performance.now() - t0)

    const target = rawEchoed + 8
    const echoed = new Promise<void>((r) => {
      rawWake = () => rawEchoed >= target && r()
    })
    t0 = performance.now()
    echo.send(new Uint8Array(8))
    await echoed
    rawRtt.push(performance.now() - t0)
  }
  await a.peer.transport.close()
  await b.peer.transport.close()
  await a.peer.node.stop()
  await b.peer.node.stop()
  return {
    small: throughput(counts.small, 128, median(runs.small)),
    large: throughput(counts.large, 65536, median(runs.large)),
    rawSmall: throughput(counts.small, 128, median(runs.rawSmall)),
    rawLarge: throughput(counts.large, 65536, median(runs.rawLarge)),
    rttP50: percentile(rtt, 50),
    rttP99: percentile(rtt, 99),
    rawRttP50: percentile(rawRtt, 50),
    rawRttP99: percentile(rawRtt, 99),
  }
}
