import { describe, expect, it } from 'vitest'
import { utf8Length } from '../../src/state/values.js'

const encoder = new TextEncoder()
const UNITS = [0x41, 0x7f, 0x80, 0x7ff, 0x800, 0xfffd, 0xd800, 0xdbff, 0xdc00, 0xdfff, 0xe000]

describe('utf8Length', () => {
  it('counts what TextEncoder writes, lone surrogates as U+FFFD', () => {
    for (const s of [
      '',
      'abc',
      'é',
      '€',
      '😀',
      'a\ud800',
      '\udc00b',
      '\ud800\ud800',
      '\udbff\udfff',
      'x\ud83d',
    ])
      expect(utf8Length(s)).toBe(encoder.encode(s).length)
  })

  it('agrees with TextEncoder on 5,000 random strings of edge code units', () => {
    let seed = 7
    const next = () => {
      seed = (seed * 1103515245 + 12345) >>> 0
      return seed
    }
    for (let n = 0; n < 5000; n++) {
      const length = next() % 9
      const s = String.fromCharCode(...Array.from({ length }, () => UNITS[next() % UNITS.length]))
      expect(utf8Length(s)).toBe(encoder.encode(s).length)
    }
  })
})
