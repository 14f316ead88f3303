/**
 * A fast 64-bit hash (two murmur3-style 32-bit lanes over little-endian words), the same on
 * every platform. It tells a retried command from a reused session number and catches bit
 * flips in snapshot chunks; it is not a defence against a chosen collision.
 */
export function hash64(bytes: Uint8Array, seed = 0): string {
  let h1 = 0x9747b28c ^ seed
  let h2 = 0x85ebca6b ^ Math.imul(seed, 0x27d4eb2f)
  const words = bytes.length >>> 2
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  for (let i = 0; i < words; i++) {
    const w = view.getUint32(i * 4, true)
    h1 = mixLane(h1, w, 0xcc9e2d51, 0x1b873593)
    h2 = mixLane(h2, w ^ h1, 0x85ebca77, 0xc2b2ae3d)
  }
  let tail = 0
  for (let i = words * 4; i < bytes.length; i++) tail |= bytes[i] << (8 * (i & 3))
  h1 = mixLane(h1, tail, 0xcc9e2d51, 0x1b873593)
  h2 = mixLane(h2, tail ^ h1, 0x85ebca77, 0xc2b2ae3d)
  h1 = finalMix(h1 ^ bytes.length)
  h2 = finalMix(h2 ^ bytes.length ^ h1)
  return hex32(h1) + hex32(h2)
}

function mixLane(h: number, word: number, c1: number, c2: number): number {
  let k = Math.imul(word, c1)
  k = (k << 15) | (k >>> 17)
  k = Math.imul(k, c2)
  h ^= k
  h = (h << 13) | (h >>> 19)
  return (Math.imul(h, 5) + 0xe6546b64) | 0
}

function finalMix(h: number): number {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  return h ^ (h >>> 16)
}

const hex32 = (n: number) => (n >>> 0).toString(16).padStart(8, '0')
