/**
 * `npm run bench -- transport [--quick] [--no-browser] [--only=tcp,quic,ws,webrtc]`: our framed Raft transport against a
 * raw libp2p stream (no framing, no codec) in the same run, Node<->Node over TCP, QUIC and
 * WebSockets and browser<->browser over WebRTC. "128-byte" and "64 KiB" are the entry payload
 * of each App message (ours) and the size of each raw write (baseline); MB/s counts payload.
 * Throughput figures are medians of alternating rounds; RTT is one message each way at a time.
 * Ends with one JSON line of every figure.
 */
import { measureBrowser } from './browser-env.js'
import { type EnvFigures, flatten, report } from './measure.js'
import { measureNode } from './node-env.js'

const args = process.argv.slice(2)
const quick = args.includes('--quick')
const counts = quick
  ? { small: 5000, large: 200, pings: 200, rounds: 1 }
  : // Raw QUIC moves 20,000 small writes in ~15-60 ms: too short to time on a shared machine.
    { small: 100_000, large: 1000, pings: 1000, rounds: 3 }
const browserCounts = quick
  ? { small: 2000, large: 100, pings: 200, rounds: 1 }
  : { small: 5000, large: 300, pings: 500, rounds: 3 }

const figures: Record<string, number> = {}
const envs: [string, () => Promise<EnvFigures>][] = [
  ['tcp', () => measureNode('tcp', counts)],
  ['quic', () => measureNode('quic', counts)],
  ['ws', () => measureNode('ws', counts)],
]
if (!args.includes('--no-browser')) envs.push(['webrtc', () => measureBrowser(browserCounts)])
// `--only=quic,tcp` measures just those environments (for profiling one path).
const only = args
  .find((a) => a.startsWith('--only='))
  ?.slice(7)
  .split(',')
for (const [env, run] of envs) {
  if (only && !only.includes(env)) continue
  const f = await run()
  console.log(report(env, f))
  Object.assign(figures, flatten(env, f))
}
console.log(JSON.stringify(figures))
process.exit(0)
