import type { Metric } from '../vector/index.js'

/** The same distances usearch reports, for exact scans over a few candidates. */
export function distance(metric: Metric, a: Float32Array, b: Float32Array): number {
  let dot = 0
  if (metric === 'l2sq') {
    for (let i = 0; i < a.length; i++) {
      const d = a[i] - b[i]
      dot += d * d
    }
    return dot
  }
  let na = 0
  let nb = 0
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i]
    na += a[i] * a[i]
    nb += b[i] * b[i]
  }
  if (metric === 'ip') return 1 - dot
  if (na === 0 || nb === 0) return na === nb ? 0 : 1
  return 1 - dot / Math.sqrt(na * nb)
}
