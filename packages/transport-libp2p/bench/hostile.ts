/**
 * `npm run bench -- hostile [--quick]` (issue 15): what hostile peers cost a victim peer.
 * - max_stall_ms: the victim's longest event-loop stall while a member sends one 256 KiB frame
 *   as 1-byte writes (from another process), against the same victim idle (baseline_stall_ms);
 *   max_stall_cpu_ms: the CPU the victim burned in its worst stall (baseline_stall_cpu_ms idle).
 *   On a loaded machine the wall figures measure the neighbours; the CPU ones the attack.
 *   Timing starts once the attacker is connected (its start-up is another machine's, in life);
 * - nonmember_mb: memory the victim retains (after GC) while 10 throwaway identities try to
 *   open Raft and snapshot streams and push frames at their caps, behind the membership gate;
 *   with only the stream gate (no connection gate) as nonmember_mb_stream_gate;
 * - ratio_validated_decode: decode throughput of valid Raft frames with validation
 *   (`validateMessage`) over decoding alone (`decodeMessage`, whose strict number and
 *   shared-value checks are in both), in CPU time, the fastest of many alternating rounds each.
 * Ends with one JSON line of every figure.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import v8 from 'node:v8'
import vm from 'node:vm'
import { decodeMessage, encodeMessage, type Message, MessageType, validateMessage } from '@flotilla/core'
import { privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import { createLibp2pTransport, type Libp2pTransport, membershipGate } from '../src/index.js'
import { identity, tcpNode, waitFor } from '../test/hostile/fixture.js'

v8.setFlagsFromString('--expose-gc')
const gc = vm.runInNewContext('gc') as () => void
const quick = process.argv.includes('--quick')
const r = (x: number, d = 2): number => Number(x.toFixed(d))

function spawnAttacker(args: string[]): { child: ChildProcess; line: () => Promise<string> } {
  const file = fileURLToPath(new URL('./hostile-attacker.ts', import.meta.url))
  const child = spawn(process.execPath, ['--import', 'tsx', file, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const lines = createInterface({ input: child.stdout! })
  const queue: string[] = []
  const waiting: ((l: string) => void)[] = []
  lines.on('line', (l) => {
    const w = waiting.shift()
    if (w) w(l)
    else queue.push(l)
  })
  const line = (): Promise<string> => {
    const next = queue.shift()
    return next !== undefined ? Promise.resolve(next) : new Promise((resolve) => waiting.push(resolve))
  }
  return { child, line }
}

// ---- decode with and without validation ----

function sampleFrames(): Uint8Array[] {
  const from = '12D3KooWLetGaPMEWyejrg4gbRip7gyyhAdDasi4xQJiDMQ2nb1q'
  const to = '12D3KooWAADevQbERzqBJ1eNib8pXdVshmC4d7zafHd2G1iZuZys'
  const out: Uint8Array[] = []
  for (let i = 0; i < 1000; i++) {
    const entries = Array.from({ length: 8 }, (_, k) => ({
      term: 5,
      index: i * 8 + k + 1,
      type: 0 as const,
      data: new Uint8Array(128).fill(k),
    }))
    const msgs: Message[] = [
      { type: MessageType.App, from, to, term: 5, index: i * 8, logTerm: 5, commit: i * 8, entries },
      { type: MessageType.AppResp, from: to, to: from, term: 5, index: i * 8 + 8 },
      {
        type: MessageType.Heartbeat,
        from,
        to,
        term: 5,
        commit: i * 8,
        index: i,
        context: new Uint8Array(12),
      },
      { type: MessageType.HeartbeatResp, from: to, to: from, term: 5, index: i },
    ]
    for (const m of msgs) out.push(encodeMessage(m))
  }
  return out
}

/** CPU milliseconds of one pass: on a shared machine wall time mostly measures the neighbours. */
function decodeRound(frames: Uint8Array[], validate: boolean): number {
  const t0 = process.cpuUsage()
  let refused = 0
  for (const f of frames) {
    const m = decodeMessage(f)
    if (validate && validateMessage(m) !== null) refused++
  }
  const t = process.cpuUsage(t0)
  if (refused > 0) throw new Error(`${refused} valid frames refused`)
  return (t.user + t.system) / 1000
}

function measureDecode(): Record<string, number> {
  const frames = sampleFrames()
  const rounds = quick ? 21 : 81
  const plain: number[] = []
  const validated: number[] = []
  for (let i = 0; i < 5; i++) decodeRound(frames, i % 2 === 0) // warm-up
  for (let i = 0; i < rounds; i++) {
    plain.push(decodeRound(frames, false))
    validated.push(decodeRound(frames, true))
  }
  const perSecond = (ms: number) => frames.length / (ms / 1000)
  // The fastest round of each: on a shared machine the slower ones measure the neighbours.
  const decode = perSecond(Math.min(...plain))
  const checked = perSecond(Math.min(...validated))
  console.log(`decode: ${decode.toFixed(0)} msgs/s | decode + validate: ${checked.toFixed(0)} msgs/s`)
  return {
    decode_msgs_per_s: r(decode, 0),
    validated_decode_msgs_per_s: r(checked, 0),
    ratio_validated_decode: r(checked / decode, 3),
  }
}

// ---- event-loop stall under the 1-byte-chunk attack ----

interface Stall {
  /** Longest event-loop turn in wall time: includes time the OS ran other processes. */
  wallMs: number
  /** CPU this process burned in the longest-CPU gap between two 1 ms ticks: its own work. */
  cpuMs: number
}

/**
 * The longest stall while `during` runs, seen by a 1 ms timer chain. On a loaded machine the
 * wall figure mostly measures the neighbours (the idle baseline shows how much): the CPU this
 * process used inside each gap is what the attack itself costs.
 */
async function maxStall(during: () => Promise<void>): Promise<Stall> {
  let wallMs = 0
  let cpuMs = 0
  let lastWall = performance.now()
  let lastCpu = process.cpuUsage()
  let timer: ReturnType<typeof setTimeout> | undefined
  const tick = (): void => {
    const now = performance.now()
    const cpu = process.cpuUsage()
    wallMs = Math.max(wallMs, now - lastWall - 1)
    cpuMs = Math.max(cpuMs, (cpu.user - lastCpu.user + cpu.system - lastCpu.system) / 1000)
    lastWall = now
    lastCpu = cpu
    timer = setTimeout(tick, 1)
  }
  timer = setTimeout(tick, 1)
  await during()
  clearTimeout(timer)
  return { wallMs: Math.max(0, wallMs), cpuMs }
}

/**
 * One honest frame over a fresh connection, so that the code a connection loads lazily is
 * loaded (under tsx, a first import blocks the loop) before stalls are measured.
 */
async function warmUp(victim: Libp2p, from: { key: PrivateKey; id: string }, arrived: () => boolean) {
  const node = await tcpNode(from.key)
  const t = await createLibp2pTransport(node, { isMember: () => true })
  await node.peerStore.merge(victim.peerId, { multiaddrs: victim.getMultiaddrs() })
  const entries = [{ term: 2, index: 2, type: 0 as const, data: new Uint8Array(8) }]
  const to = victim.peerId.toString()
  t.send({ type: MessageType.App, from: from.id, to, term: 2, index: 1, logTerm: 1, entries })
  await waitFor(arrived, 'the warm-up frame')
  await t.close()
  await node.stop()
}

async function measureStall(): Promise<Record<string, number>> {
  const [victim, attacker, honest] = [await identity(), await identity(), await identity()]
  const gate = membershipGate({ members: [victim.id, attacker.id, honest.id] })
  const node = await tcpNode(victim.key, gate)
  const transport = await createLibp2pTransport(node, { gate, maxFrameBytes: 1024 * 1024 })
  let apps = 0
  transport.onMessage((m) => {
    if (m.type === MessageType.App) apps++
  })
  await warmUp(node, honest, () => apps > 0)
  apps = 0
  const bytes = quick ? 64 * 1024 : 256 * 1024
  const baseline = await maxStall(() => new Promise((r) => setTimeout(r, 2000)))
  const t0 = performance.now()
  const { child, line } = spawnAttacker([
    'one-byte',
    node.getMultiaddrs()[0].toString(),
    Buffer.from(privateKeyToProtobuf(attacker.key)).toString('hex'),
    String(bytes),
  ])
  await line() // connected: from here on, the attack
  let written = 0
  const stall = await maxStall(async () => {
    written = (JSON.parse(await line()) as { written: number }).written
    // Let the victim work through whatever was still in flight.
    await new Promise((r) => setTimeout(r, 500))
  })
  const seconds = (performance.now() - t0) / 1000
  child.kill('SIGKILL')
  const cutOff = transport.stats().drops.fragmented > 0
  await transport.close()
  await node.stop()
  console.log(
    `1-byte attack: ${written} of ${bytes} bytes written, ${cutOff ? 'cut off' : 'delivered'} (${apps} frames), ${seconds.toFixed(1)} s, max stall ${stall.wallMs.toFixed(1)} ms wall, ${stall.cpuMs.toFixed(1)} ms CPU (idle ${baseline.wallMs.toFixed(1)} ms wall, ${baseline.cpuMs.toFixed(1)} ms CPU)`,
  )
  return {
    max_stall_ms: r(stall.wallMs),
    max_stall_cpu_ms: r(stall.cpuMs),
    baseline_stall_ms: r(baseline.wallMs),
    baseline_stall_cpu_ms: r(baseline.cpuMs),
    one_byte_bytes_written: written,
    one_byte_attack_s: r(seconds),
  }
}

// ---- memory held by non-member connections ----

const held = (): number => {
  const m = process.memoryUsage()
  return m.heapUsed + m.arrayBuffers
}

/**
 * The most memory the victim retains (after a full GC, so garbage from refused handshakes does
 * not count) while 10 strangers attack it.
 */
async function memoryUnderStrangers(node: Libp2p, transport: Libp2pTransport): Promise<number> {
  gc()
  const base = held()
  let peak = 0
  const seconds = quick ? 3 : 8
  const { child, line } = spawnAttacker([
    'strangers',
    node.getMultiaddrs()[0].toString(),
    '10',
    String(seconds),
  ])
  await line()
  let running = true
  child.once('exit', () => {
    running = false
  })
  while (running) {
    await new Promise((r) => setTimeout(r, 250))
    gc()
    peak = Math.max(peak, held() - base)
  }
  await transport.close()
  await node.stop()
  return peak / (1024 * 1024)
}

async function measureMemory(): Promise<Record<string, number>> {
  const victim = await identity()
  const gate = membershipGate({ members: [victim.id] })
  const gated = await tcpNode(victim.key, gate)
  const gatedMb = await memoryUnderStrangers(gated, await createLibp2pTransport(gated, { gate }))
  const open = await tcpNode()
  const streamOnlyMb = await memoryUnderStrangers(
    open,
    await createLibp2pTransport(open, { isMember: (p) => p === open.peerId.toString() }),
  )
  console.log(
    `10 strangers pushing 4-8 MiB frames: ${gatedMb.toFixed(1)} MB held behind the gate, ${streamOnlyMb.toFixed(1)} MB with the stream gate only`,
  )
  return { nonmember_mb: r(gatedMb), nonmember_mb_stream_gate: r(streamOnlyMb) }
}

const figures = { ...measureDecode(), ...(await measureStall()), ...(await measureMemory()) }
console.log(JSON.stringify(figures))
process.exit(0)
