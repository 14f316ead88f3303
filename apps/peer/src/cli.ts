import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { StorageError } from '@flotilla/core'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { Command, Option } from 'commander'
import { CONFIG_FILE, ConfigError, type PeerConfig, readConfigFile, resolveConfig } from './config.js'
import { createLogger } from './log.js'
import { loadIdentity, startPeer } from './main.js'
import { adminRequest } from './remote.js'

const list = (value: string, previous: string[] = []) => [...previous, ...value.split(',').filter(Boolean)]

/** The options of `init` and `start`: flag, else environment variable, else config file. */
function peerOptions(command: Command): Command {
  return command
    .addOption(new Option('-d, --data <dir>', 'data folder (identity, log, snapshots)').env('FLOTILLA_DATA'))
    .addOption(
      new Option('-c, --config <file>', 'JSON config file (default <data>/flotilla.json)').env(
        'FLOTILLA_CONFIG',
      ),
    )
    .addOption(
      new Option(
        '-l, --listen <multiaddr>',
        'libp2p listen address, repeatable: /tcp, /tcp/…/ws, /udp/…/quic-v1',
      )
        .env('FLOTILLA_LISTEN')
        .argParser(list),
    )
    .addOption(new Option('--http <host:port>', "HTTP API address ('' turns it off)").env('FLOTILLA_HTTP'))
    .addOption(
      new Option('--role <role>', 'data or witness').choices(['data', 'witness']).env('FLOTILLA_ROLE'),
    )
    .addOption(new Option('--relay', 'also run a circuit-relay-v2 server for browsers').env('FLOTILLA_RELAY'))
    .addOption(
      new Option('-p, --peer <multiaddr>', 'founding data voter, /…/p2p/<id>, repeatable')
        .env('FLOTILLA_PEERS')
        .argParser(list),
    )
    .addOption(
      new Option('-w, --witness <multiaddr>', 'founding witness, /…/p2p/<id>, repeatable')
        .env('FLOTILLA_WITNESSES')
        .argParser(list),
    )
    .addOption(new Option('-j, --join <multiaddr>', 'ask a member to add this peer').env('FLOTILLA_JOIN'))
    .addOption(
      new Option('--token <token>', 'bearer token for writes, admin routes and joining').env(
        'FLOTILLA_TOKEN',
      ),
    )
    .addOption(new Option('--body-limit <bytes>', 'largest HTTP request body').env('FLOTILLA_BODY_LIMIT'))
    .addOption(new Option('--log-level <level>', 'trace, debug, info, warn, error').env('FLOTILLA_LOG_LEVEL'))
    .addOption(new Option('--tick-ms <ms>', 'Raft tick').env('FLOTILLA_TICK_MS'))
    .addOption(
      new Option('--election-ticks <n>', 'ticks without a leader before an election').env(
        'FLOTILLA_ELECTION_TICKS',
      ),
    )
    .addOption(new Option('--priority <n>', 'election priority (higher leads)').env('FLOTILLA_PRIORITY'))
    .addOption(
      new Option('--snapshot-entries <n>', 'snapshot and compact after this many entries').env(
        'FLOTILLA_SNAPSHOT_ENTRIES',
      ),
    )
}

interface RawOptions {
  data?: string
  config?: string
  listen?: string[]
  http?: string
  role?: 'data' | 'witness'
  relay?: boolean
  peer?: string[]
  witness?: string[]
  join?: string
  token?: string
  bodyLimit?: string
  logLevel?: string
  tickMs?: string
  electionTicks?: string
  priority?: string
  snapshotEntries?: string
}

/** Only what was given (flag or environment), so that the config file fills the rest. */
function given(raw: RawOptions): Partial<PeerConfig> {
  const out: Record<string, unknown> = {
    data: raw.data,
    listen: raw.listen,
    http: raw.http,
    role: raw.role,
    relay: raw.relay === undefined ? undefined : raw.relay !== false,
    peers: raw.peer,
    witnesses: raw.witness,
    join: raw.join,
    token: raw.token,
    bodyLimit: raw.bodyLimit,
    logLevel: raw.logLevel,
    tickMs: raw.tickMs,
    electionTicks: raw.electionTicks,
    priority: raw.priority,
    snapshotEntries: raw.snapshotEntries,
  }
  for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k]
  return out as Partial<PeerConfig>
}

const configOf = (raw: RawOptions) => resolveConfig(given(raw), readConfigFile(raw.config, raw.data))

const program = new Command('flotilla-peer')
  .description('A Flotilla peer: data, witness or relay, with an HTTP API')
  .showHelpAfterError()

peerOptions(program.command('init'))
  .description('create the data folder, its identity and config file; print the peer id and addresses')
  .action(async (raw: RawOptions) => {
    const config = configOf(raw)
    const key = await loadIdentity(config.data)
    const id = peerIdFromPrivateKey(key).toString()
    const { data: _data, ...saved } = { ...readConfigFile(raw.config, raw.data), ...given(raw) }
    await mkdir(config.data, { recursive: true })
    await writeFile(join(config.data, CONFIG_FILE), `${JSON.stringify(saved, null, 2)}\n`)
    console.log(JSON.stringify({ id, multiaddrs: config.listen.map((a) => `${a}/p2p/${id}`) }, null, 2))
  })

peerOptions(program.command('start'))
  .description('run the peer until SIGTERM or SIGINT')
  .action(async (raw: RawOptions) => {
    const config = configOf(raw)
    const log = createLogger(config.logLevel)
    const running = await startPeer(config, log)
    let signals = 0
    const stop = (signal: string) => {
      // A second signal while shutting down gives up waiting.
      if (++signals > 1) process.exit(1)
      log.info({ event: 'signal', signal }, 'stopping')
      running.close().then(
        () => process.exit(0),
        (err) => {
          log.error({ err }, 'shutdown failed')
          process.exit(1)
        },
      )
    }
    process.on('SIGTERM', () => stop('SIGTERM'))
    process.on('SIGINT', () => stop('SIGINT'))
  })

const apiOption = () =>
  new Option('--api <url>', "a peer's HTTP API").env('FLOTILLA_API').default('http://127.0.0.1:8080')
const tokenOption = () => new Option('--token <token>', 'bearer token').env('FLOTILLA_TOKEN')

program
  .command('status')
  .description("print a running peer's status")
  .addOption(apiOption())
  .action(async (o: { api: string }) =>
    console.log(JSON.stringify(await adminRequest(o.api, 'GET', '/v1/status'), null, 2)),
  )

const members = program.command('members').description('list, add or remove members (through any member)')
members
  .command('list', { isDefault: true })
  .addOption(apiOption())
  .action(async (o: { api: string }) =>
    console.log(JSON.stringify(await adminRequest(o.api, 'GET', '/v1/members'), null, 2)),
  )
members
  .command('add <multiaddr-or-id>')
  .description('add a peer: its multiaddr ending in /p2p/<id> (or only the id if the group can reach it)')
  .addOption(
    new Option('--as <kind>', 'voter, learner or witness')
      .choices(['voter', 'learner', 'witness'])
      .default('voter'),
  )
  .addOption(apiOption())
  .addOption(tokenOption())
  .action(async (target: string, o: { as: string; api: string; token?: string }) => {
    const at = target.lastIndexOf('/p2p/')
    const body =
      at >= 0
        ? { id: target.slice(at + 5), as: o.as, addrs: [target.slice(0, at)] }
        : { id: target, as: o.as }
    console.log(JSON.stringify(await adminRequest(o.api, 'POST', '/v1/members', body, o.token)))
  })
members
  .command('remove <id>')
  .addOption(apiOption())
  .addOption(tokenOption())
  .action(async (id: string, o: { api: string; token?: string }) =>
    console.log(
      JSON.stringify(
        await adminRequest(o.api, 'DELETE', `/v1/members/${encodeURIComponent(id)}`, undefined, o.token),
      ),
    ),
  )

program
  .command('transfer [to]')
  .description('hand leadership to a peer (default: the most caught-up voter)')
  .addOption(apiOption())
  .addOption(tokenOption())
  .action(async (to: string | undefined, o: { api: string; token?: string }) =>
    console.log(
      JSON.stringify(await adminRequest(o.api, 'POST', '/v1/leader/transfer', to ? { to } : {}, o.token)),
    ),
  )

try {
  await program.parseAsync()
} catch (error) {
  const e = error as Error & { code?: string }
  const known = e instanceof ConfigError || e instanceof StorageError || e.code?.startsWith('ERR_')
  console.error(`flotilla-peer: ${known ? e.message : (e.stack ?? e.message)}`)
  process.exit(e instanceof StorageError && e.code === 'ERR_LOCKED' ? 3 : 1)
}
