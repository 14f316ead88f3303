import { describe, expect, it } from 'vitest'
import { concatBytes } from '../../src/bytes.js'
import { frame, unframe } from '../../src/peer/snapshot-frames.js'

const chunk = (n: number, seed: number) => new Uint8Array(n).map((_, i) => (i * 7 + seed) & 0xff)

/** `bytes` cut into pieces of the given sizes, cycling. */
function cut(bytes: Uint8Array, sizes: number[]): Uint8Array[] {
  const out: Uint8Array[] = []
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const n = sizes[i % sizes.length]
    out.push(bytes.subarray(at, at + n))
    at += n
  }
  return out
}

async function collect(pieces: Uint8Array[]): Promise<Uint8Array[]> {
  const out: Uint8Array[] = []
  for await (const c of unframe(pieces)) out.push(c.slice())
  return out
}

describe('snapshot framing, streamed', () => {
  const chunks = [chunk(10, 1), chunk(0, 2), chunk(70_000, 3), chunk(3, 4), chunk(5000, 5)]
  const framed = concatBytes([...frame(chunks)])

  it('gives back the chunks however storage cut the stream', async () => {
    for (const sizes of [[1], [3], [4], [5, 1, 9], [4096], [framed.length], [70_004, 2]]) {
      const got = await collect(cut(framed, sizes))
      expect(got.map((c) => c.length)).toEqual(chunks.map((c) => c.length))
      expect(got.every((c, i) => c.every((b, j) => b === chunks[i][j]))).toBe(true)
    }
  })

  it('refuses a stream cut short, in a length prefix or in a chunk', async () => {
    await expect(collect([framed.subarray(0, 2)])).rejects.toMatchObject({ code: 'ERR_FAILED' })
    await expect(collect(cut(framed.subarray(0, framed.length - 1), [100]))).rejects.toMatchObject({
      code: 'ERR_FAILED',
    })
  })
})
