/** Shapes the bench's figures: throughput from a timed transfer, latency percentiles. */
export interface Throughput {
  fps: number
  mbps: number
}

export function throughput(frames: number, payloadBytes: number, ms: number): Throughput {
  const s = Math.max(ms, 0.001) / 1000
  return { fps: frames / s, mbps: (frames * payloadBytes) / s / (1024 * 1024) }
}

export function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]
}

export function median(xs: number[]): number {
  return percentile(xs, 50)
}

/** One environment's figures: ours, the raw-stream baseline, and the ratios. */
export interface EnvFigures {
  small: Throughput
  large: Throughput
  rttP50: number
  rttP99: number
  rawSmall: Throughput
  rawLarge: Throughput
  rawRttP50: number
  rawRttP99: number
}

const r = (x: number, d = 2): number => Number(x.toFixed(d))

export function flatten(env: string, f: EnvFigures): Record<string, number> {
  return {
    [`${env}_128_frames_per_s`]: r(f.small.fps, 0),
    [`${env}_128_mb_per_s`]: r(f.small.mbps),
    [`${env}_64k_frames_per_s`]: r(f.large.fps, 0),
    [`${env}_64k_mb_per_s`]: r(f.large.mbps),
    [`${env}_rtt_p50_ms`]: r(f.rttP50, 3),
    [`${env}_rtt_p99_ms`]: r(f.rttP99, 3),
    [`raw_${env}_128_frames_per_s`]: r(f.rawSmall.fps, 0),
    [`raw_${env}_128_mb_per_s`]: r(f.rawSmall.mbps),
    [`raw_${env}_64k_frames_per_s`]: r(f.rawLarge.fps, 0),
    [`raw_${env}_64k_mb_per_s`]: r(f.rawLarge.mbps),
    [`raw_${env}_rtt_p50_ms`]: r(f.rawRttP50, 3),
    [`raw_${env}_rtt_p99_ms`]: r(f.rawRttP99, 3),
    [`ratio_framed_raw_${env}`]: r(f.small.fps / f.rawSmall.fps, 3),
    [`ratio_framed_raw_${env}_64k`]: r(f.large.fps / f.rawLarge.fps, 3),
    [`ratio_rtt_p50_raw_${env}`]: r(f.rttP50 / f.rawRttP50, 3),
  }
}

export function report(env: string, f: EnvFigures): string {
  const t = (x: Throughput): string => `${x.fps.toFixed(0)} frames/s ${x.mbps.toFixed(1)} MB/s`
  return [
    `${env}: 128 B  ours ${t(f.small)} | raw ${t(f.rawSmall)} | ratio ${(f.small.fps / f.rawSmall.fps).toFixed(2)}`,
    `${env}: 64 KiB ours ${t(f.large)} | raw ${t(f.rawLarge)} | ratio ${(f.large.fps / f.rawLarge.fps).toFixed(2)}`,
    `${env}: RTT p50/p99 ours ${f.rttP50.toFixed(3)}/${f.rttP99.toFixed(3)} ms | raw ${f.rawRttP50.toFixed(3)}/${f.rawRttP99.toFixed(3)} ms`,
  ].join('\n')
}
