/**
 * Turns text into vectors. Every peer of a group must use the same embedder (same model, same
 * dimensions), since they search one shared index.
 */
export interface Embedder {
  /** Shown in the UI, so people know what the vectors mean. */
  readonly name: string
  readonly description: string
  readonly dimensions: number
  embed(texts: string[]): Promise<Float32Array[]>
}

/** FNV-1a, 32 bits: a fixed, fast hash, so every peer maps a feature to the same slot. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

function addFeature(v: Float32Array, feature: string, weight: number): void {
  const h = fnv1a(feature)
  // The top bit picks the sign, so unrelated features cancel out on average (feature hashing).
  v[h % v.length] += h & 0x80000000 ? -weight : weight
}

/** Lowercase words of letters and digits (accents folded). */
export function words(text: string): string[] {
  return text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w.length > 0)
}

/**
 * A deterministic embedder that needs no model and no download: each word adds its character
 * trigrams (with word boundaries) and itself to a hashed, L2-normalised vector. Texts that share
 * words or word pieces land close; it knows nothing of meaning or synonyms.
 */
export function hashedNgramEmbedder(dimensions = 256): Embedder {
  const embedOne = (text: string): Float32Array => {
    const v = new Float32Array(dimensions)
    for (const w of words(text)) {
      addFeature(v, `w:${w}`, 1)
      const padded = `^${w}$`
      for (let i = 0; i + 3 <= padded.length; i++) addFeature(v, padded.slice(i, i + 3), 0.5)
    }
    let norm = 0
    for (const x of v) norm += x * x
    // An empty text gets a fixed unit vector rather than zeros, which a cosine index refuses.
    if (norm === 0) v[0] = 1
    else for (let i = 0; i < dimensions; i++) v[i] /= Math.sqrt(norm)
    return v
  }
  return {
    name: `hashed character trigrams, ${dimensions} dimensions`,
    description:
      'A deterministic embedder that needs no model: words and their three-letter pieces are hashed ' +
      'into a vector. It matches shared words and spellings, not meaning. Plug a real model in ' +
      'through the embed hook.',
    dimensions,
    embed: async (texts) => texts.map(embedOne),
  }
}
