import { describe, expect, it } from 'vitest'
import { checkLinearizable, type Operation } from '../../src/sim/linearizability.js'

let id = 0
const put = (key: string, value: string, call: number, ret: number): Operation => ({
  id: id++,
  key,
  kind: 'put',
  value,
  call,
  ret,
})
const get = (key: string, value: string | null, call: number, ret: number): Operation => ({
  id: id++,
  key,
  kind: 'get',
  value,
  call,
  ret,
})

describe('linearizability checker (Wing & Gong, Lowe)', () => {
  it('accepts a sequential history', () => {
    expect(
      checkLinearizable([put('k', 'a', 0, 1), get('k', 'a', 2, 3), put('k', 'b', 4, 5), get('k', 'b', 6, 7)])
        .ok,
    ).toBe(true)
  })

  it('rejects a stale read after a completed write', () => {
    const r = checkLinearizable([put('k', 'a', 0, 1), put('k', 'b', 2, 3), get('k', 'a', 4, 5)])
    expect(r).toEqual({ ok: false, key: 'k', timedOut: false })
  })

  it('accepts either order for concurrent operations', () => {
    expect(checkLinearizable([put('k', 'a', 0, 10), get('k', 'a', 1, 2), get('k', null, 0, 0.5)]).ok).toBe(
      true,
    )
  })

  it('rejects reads that see a value come back after a newer one', () => {
    const h = [
      put('k', 'a', 0, 10),
      put('k', 'b', 0, 10),
      get('k', 'a', 11, 12),
      get('k', 'b', 13, 14),
      get('k', 'a', 15, 16),
    ]
    expect(checkLinearizable(h).ok).toBe(false)
  })

  it('lets a write of unknown outcome take effect late, or never', () => {
    expect(
      checkLinearizable([put('k', 'a', 0, Infinity), get('k', null, 1, 2), get('k', 'a', 3, 4)]).ok,
    ).toBe(true)
    expect(checkLinearizable([put('k', 'a', 0, Infinity), get('k', null, 1, 2)]).ok).toBe(true)
  })

  it('rejects a read of a value never written', () => {
    expect(checkLinearizable([put('k', 'a', 0, 1), get('k', 'zzz', 2, 3)]).ok).toBe(false)
  })

  it('checks keys independently', () => {
    const h = [put('x', '1', 0, 1), put('y', '2', 0, 1), get('x', '1', 2, 3), get('y', '1', 2, 3)]
    expect(checkLinearizable(h)).toMatchObject({ ok: false, key: 'y' })
  })
})
