/** Seeded test data, the same in every runtime. */
export function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** `n` rows of `d` values around `clusters` random centres (what embeddings look like). */
export function clustered(n: number, d: number, seed: number, clusters = 10): Float32Array {
  const r = rng(seed)
  const gauss = () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r())
  const centres = Array.from({ length: clusters }, () => Float32Array.from({ length: d }, () => r() * 2 - 1))
  const out = new Float32Array(n * d)
  for (let i = 0; i < n; i++) {
    const c = centres[Math.floor(r() * clusters)]
    for (let j = 0; j < d; j++) out[i * d + j] = c[j] + 0.1 * gauss()
  }
  return out
}

export function row(data: Float32Array, i: number, d: number): Float32Array {
  return data.subarray(i * d, (i + 1) * d)
}

export function exactDistance(metric: 'cos' | 'ip' | 'l2sq', a: Float32Array, b: Float32Array): number {
  let dot = 0
  let na = 0
  let nb = 0
  let l2 = 0
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i]
    na += a[i] * a[i]
    nb += b[i] * b[i]
    l2 += (a[i] - b[i]) ** 2
  }
  if (metric === 'l2sq') return l2
  if (metric === 'ip') return 1 - dot
  return 1 - dot / Math.sqrt(na * nb)
}

/** Exact k nearest keys (row numbers) by brute force. */
export function bruteForce(
  metric: 'cos' | 'ip' | 'l2sq',
  data: Float32Array,
  query: Float32Array,
  d: number,
  k: number,
): number[] {
  const n = data.length / d
  const scored = Array.from({ length: n }, (_, i) => [exactDistance(metric, row(data, i, d), query), i])
  scored.sort((x, y) => x[0] - y[0])
  return scored.slice(0, k).map((s) => s[1])
}
