import { describe, expect, it } from 'vitest'
import { hashedNgramEmbedder } from '../src/embedder.js'
import { seedDocuments } from '../src/seed.js'

const cosine = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i], 0)

describe('hashed trigram embedder', () => {
  const embedder = hashedNgramEmbedder(256)

  it('is deterministic and gives unit vectors of its dimensions', async () => {
    const [a, b, empty] = await embedder.embed(['Night ferry to Bergen', 'Night ferry to Bergen', ''])
    expect(a).toHaveLength(256)
    expect(Array.from(a)).toEqual(Array.from(b))
    expect(cosine(a, a)).toBeCloseTo(1, 5)
    expect(cosine(empty, empty)).toBeCloseTo(1, 5)
  })

  it('puts texts that share words and spellings closer than unrelated ones', async () => {
    const [query, near, inflected, far] = await embedder.embed([
      'ferry leaves the harbour',
      'The night ferry leaves Bergen harbour at dawn',
      'ferries leaving harbours',
      'Simmer the lentils with cumin and coconut milk',
    ])
    expect(cosine(query, near)).toBeGreaterThan(cosine(query, far) + 0.3)
    expect(cosine(query, inflected)).toBeGreaterThan(cosine(query, far))
  })

  it('finds a seed document by a few of its words', async () => {
    const docs = seedDocuments()
    const vectors = await embedder.embed(docs.map((d) => d.text))
    const target = docs.find((d) => d.topic === 'music')!
    const [q] = await embedder.embed([target.text.split(' ').slice(1, 5).join(' ')])
    const ranked = docs.map((d, i) => ({ d, s: cosine(q, vectors[i]) })).sort((x, y) => y.s - x.s)
    expect(ranked.slice(0, 5).map((r) => r.d.topic)).toContain('music')
    expect(ranked[0].d.topic).toBe('music')
  })
})

describe('seed documents', () => {
  it('are a few hundred distinct short texts, the same on every run', () => {
    const docs = seedDocuments()
    expect(docs).toHaveLength(320)
    expect(new Set(docs.map((d) => d.text)).size).toBe(320)
    expect(new Set(docs.map((d) => d.id)).size).toBe(320)
    expect(seedDocuments()).toEqual(docs)
    expect(Math.max(...docs.map((d) => d.text.length))).toBeLessThan(120)
  })
})
