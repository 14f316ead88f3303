import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createCoordinator, WAIT_MS } from '../server/coordinator.js'

const config = {
  relay: '/ip4/127.0.0.1/tcp/1/ws/p2p/R',
  witness: 'R',
  nodeAddrs: { R: ['/ip4/127.0.0.1/tcp/1/ws/p2p/R'] },
  local: true,
}

describe('the rendezvous', () => {
  afterEach(() => vi.useRealTimers())

  it('lets exactly one fresh tab found the group', () => {
    const c = createCoordinator(config)
    expect(c.hello('a', true)).toEqual({ founder: true })
    expect(c.hello('b', true)).toEqual({ founder: false })
    expect(c.hello('c', true)).toEqual({ founder: false })
    c.founded('a')
    expect(c.hello('d', true).founder).toBe(false)
  })

  it('never makes a tab with stored state the founder', () => {
    const c = createCoordinator(config)
    expect(c.hello('reloaded', false).founder).toBe(false)
    expect(c.hello('fresh', true).founder).toBe(true)
  })

  it('gives an unfinished claim to the next fresh tab after 30 s', () => {
    vi.useFakeTimers()
    const c = createCoordinator(config)
    expect(c.hello('a', true).founder).toBe(true)
    vi.advanceTimersByTime(29_000)
    expect(c.hello('b', true).founder).toBe(false)
    vi.advanceTimersByTime(2_000)
    expect(c.hello('b', true).founder).toBe(true)
    c.founded('a') // too late: the claim is b's
    expect(c.hello('a', true).founder).toBe(false)
  })

  it('lists the tabs waiting to be added, longest waiting first, until they stop asking', () => {
    vi.useFakeTimers()
    const c = createCoordinator(config)
    c.wait('a')
    vi.advanceTimersByTime(1000)
    c.wait('b')
    c.wait('a') // asks again: still first, it has waited longest
    expect(c.joiners()).toEqual(['a', 'b'])
    vi.advanceTimersByTime(WAIT_MS + 1)
    c.wait('b')
    expect(c.joiners()).toEqual(['b'])
  })

  it('keeps its state across restarts in its state file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rendezvous-'))
    try {
      const file = join(dir, 'state.json')
      const first = createCoordinator(config, file)
      first.hello('a', true)
      first.founded('a')
      const again = createCoordinator(config, file)
      expect(again.hello('b', true)).toEqual({ founder: false })
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
