/** Seeded clustered data for the vector bench: a mixture of Gaussian clusters. */
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

export interface Mixture {
  centres: Float32Array[]
  sample(n: number, seed: number): Float32Array
}

/** `clusters` centres uniform in [-1, 1]^d; samples add N(0, sd^2) noise per component. */
export function mixture(d: number, clusters: number, sd: number, seed: number): Mixture {
  const r = rng(seed)
  const centres = Array.from({ length: clusters }, () => Float32Array.from({ length: d }, () => r() * 2 - 1))
  return {
    centres,
    sample(n, sampleSeed) {
      const s = rng(sampleSeed)
      const gauss = () => Math.sqrt(-2 * Math.log(1 - s())) * Math.cos(2 * Math.PI * s())
      const out = new Float32Array(n * d)
      for (let i = 0; i < n; i++) {
        const c = centres[Math.floor(s() * clusters)]
        for (let j = 0; j < d; j++) out[i * d + j] = c[j] + sd * gauss()
      }
      return out
    },
  }
}

/** Plain TypeScript exact k-NN by squared L2: the ground truth and the brute-force baseline. */
export function bruteForceKnn(data: Float32Array, d: number, query: Float32Array, k: number): number[] {
  const n = data.length / d
  const bestD = new Float64Array(k).fill(Number.POSITIVE_INFINITY)
  const bestI = new Int32Array(k).fill(-1)
  for (let i = 0; i < n; i++) {
    let s = 0
    const off = i * d
    for (let j = 0; j < d; j++) {
      const x = data[off + j] - query[j]
      s += x * x
    }
    if (s >= bestD[k - 1]) continue
    let p = k - 1
    while (p > 0 && bestD[p - 1] > s) {
      bestD[p] = bestD[p - 1]
      bestI[p] = bestI[p - 1]
      p--
    }
    bestD[p] = s
    bestI[p] = i
  }
  return Array.from(bestI)
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}
