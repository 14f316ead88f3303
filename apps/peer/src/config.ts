import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { PeerRole } from '@flotilla/core'

/** Everything `start` needs; from flags, then environment variables, then the config file. */
export interface PeerConfig {
  /** The data folder: identity, Raft storage, known addresses, config file. */
  data: string
  /** libp2p listen multiaddrs (TCP, `/ws` for browsers, `/quic-v1`). */
  listen: string[]
  /** host:port of the HTTP API; '' turns it off. */
  http: string
  role: PeerRole
  /** Also run a circuit-relay-v2 server (browsers meet through it). */
  relay: boolean
  /** Founding data voters other than this peer, as multiaddrs ending in /p2p/<id>. */
  peers: string[]
  /** Founding witnesses other than this peer, as multiaddrs ending in /p2p/<id>. */
  witnesses: string[]
  /** A member's multiaddr to ask for admission (instead of founding a group). */
  join?: string
  /** Bearer token for writes and admin routes, and for joining. */
  token?: string
  bodyLimit: number
  logLevel: string
  /** Raft tick length and election timeout in ticks. */
  tickMs: number
  electionTicks: number
  /** Election priority (higher is preferred as leader). */
  priority: number
  /** Take a snapshot (and compact the log) after this many applied entries. */
  snapshotEntries: number
}

export const DEFAULTS: Omit<PeerConfig, 'data'> = {
  listen: ['/ip4/0.0.0.0/tcp/4001', '/ip4/0.0.0.0/tcp/4002/ws'],
  http: '127.0.0.1:8080',
  role: 'data',
  relay: false,
  peers: [],
  witnesses: [],
  bodyLimit: 16 * 1024 * 1024,
  logLevel: 'info',
  tickMs: 100,
  electionTicks: 10,
  priority: 1,
  snapshotEntries: 10_000,
}

export const CONFIG_FILE = 'flotilla.json'

export class ConfigError extends Error {
  readonly code = 'ERR_CONFIG'
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`)
    this.name = 'ConfigError'
  }
}

/** Reads a JSON config file (`--config`, else `<data>/flotilla.json` when present). */
export function readConfigFile(path: string | undefined, data: string | undefined): Partial<PeerConfig> {
  const file = path ?? (data ? join(data, CONFIG_FILE) : undefined)
  if (!file || (!path && !existsSync(file))) return {}
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Partial<PeerConfig>
  } catch (error) {
    throw new ConfigError('config', `cannot read ${file}: ${(error as Error).message}`)
  }
}

/** Defaults < config file < environment < flags (commander gives the last two merged). */
export function resolveConfig(given: Partial<PeerConfig>, file: Partial<PeerConfig>): PeerConfig {
  const config = { ...DEFAULTS, ...file, ...given } as PeerConfig
  if (!config.data) throw new ConfigError('data', 'the data folder is required (--data or FLOTILLA_DATA)')
  if (config.role !== 'data' && config.role !== 'witness') {
    throw new ConfigError('role', `must be data or witness, got "${config.role}"`)
  }
  for (const key of ['bodyLimit', 'tickMs', 'electionTicks', 'priority', 'snapshotEntries'] as const) {
    const n = Number(config[key])
    if (!Number.isFinite(n) || n <= 0)
      throw new ConfigError(key, `must be a positive number, got "${config[key]}"`)
    config[key] = n
  }
  if (config.join && (config.peers.length > 0 || config.witnesses.length > 0)) {
    throw new ConfigError('join', 'either found a group (--peer/--witness) or join one, not both')
  }
  return config
}

export function parseHostPort(value: string): { host: string; port: number } {
  const i = value.lastIndexOf(':')
  const host = i > 0 ? value.slice(0, i).replace(/^\[|\]$/g, '') : '127.0.0.1'
  const port = Number(i >= 0 ? value.slice(i + 1) : value)
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new ConfigError('http', `bad address "${value}"`)
  return { host, port }
}
