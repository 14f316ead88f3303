import { describe, expect, it } from 'vitest'
import { ConfigError, DEFAULTS, parseHostPort, resolveConfig } from '../src/config.js'

describe('config', () => {
  it('takes flags and environment over the config file, and the file over defaults', () => {
    const file = { http: '0.0.0.0:9000', role: 'witness' as const, tickMs: 50 }
    const config = resolveConfig({ data: '/d', http: '127.0.0.1:9001' }, file)
    expect(config.http).toBe('127.0.0.1:9001')
    expect(config.role).toBe('witness')
    expect(config.tickMs).toBe(50)
    expect(config.listen).toEqual(DEFAULTS.listen)
  })

  it('names the field it refuses', () => {
    const bad: Array<[Record<string, unknown>, string]> = [
      [{}, 'data'],
      [{ data: '/d', role: 'king' }, 'role'],
      [{ data: '/d', tickMs: 'soon' }, 'tickMs'],
      [{ data: '/d', join: '/ip4/127.0.0.1/tcp/1', peers: ['/ip4/127.0.0.1/tcp/2/p2p/x'] }, 'join'],
    ]
    for (const [given, field] of bad) {
      let caught: unknown
      try {
        resolveConfig(given, {})
      } catch (error) {
        caught = error
      }
      expect(caught, field).toBeInstanceOf(ConfigError)
      expect((caught as ConfigError).field).toBe(field)
    }
    expect(() => parseHostPort('localhost:http')).toThrow(ConfigError)
    expect(parseHostPort('[::1]:8080')).toEqual({ host: '::1', port: 8080 })
  })
})
