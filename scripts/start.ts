import { resolve } from 'node:path'
import { createServer } from 'vite'
import { startNodeWitness } from './node-witness.js'

/**
 * npm start: a Node peer (relay + witness, data in ./.flotilla) and the demo served by Vite.
 * Every tab that opens the page is a peer of the group. Ctrl-C stops both; starting again keeps
 * the data. Options: --data DIR, --port N (the page), --ws-port N (the relay, for tabs).
 */
const args = process.argv.slice(2)
const flag = (name: string, fallback: string) => {
  const i = args.indexOf(name)
  return i >= 0 && args[i + 1] ? args[i + 1] : fallback
}
const data = resolve(flag('--data', '.flotilla'))
const port = Number(flag('--port', process.env.PORT ?? '5173'))
const wsPort = Number(flag('--ws-port', '0'))

const say = (line: string) => console.log(`flotilla: ${line}`)
const short = (id: unknown) => (typeof id === 'string' ? `…${id.slice(-6)}` : 'none')

/** The Node peer's JSON log, reduced to what a person watching the group wants to see. */
function summarize(line: string): string | null {
  let entry: Record<string, unknown>
  try {
    entry = JSON.parse(line)
  } catch {
    return line.trim() || null
  }
  const level = Number(entry.level)
  if (level >= 50) return `error: ${entry.msg}${entry.err ? ` (${JSON.stringify(entry.err)})` : ''}`
  switch (entry.event) {
    case 'leader':
      return `term ${entry.term}: leader ${short(entry.leader)}`
    case 'membership':
      return `members: ${(entry.members as string[]).map((m) => `${short(m.split(':')[0])} ${m.split(':')[1]}`).join(', ')}`
    case 'recovered':
      return `witness storage: log up to ${entry.lastIndex}, commit ${entry.commit}`
    default:
      return null
  }
}

const witness = await startNodeWitness({
  data: resolve(data, 'witness'),
  wsPort,
  onLine: (line) => {
    const text = summarize(line)
    if (text) console.log(`  witness  ${text}`)
  },
})
say(`Node peer ${witness.id} (relay + witness) is up; data in ${data}`)

process.env.FLOTILLA_DEMO_RELAY = witness.relay
process.env.FLOTILLA_DEMO_WITNESS = witness.id
process.env.FLOTILLA_DEMO_STATE = resolve(data, 'rendezvous.json')
const vite = await createServer({
  configFile: resolve('apps/demo/vite.config.ts'),
  server: { host: '127.0.0.1', port, strictPort: false },
  logLevel: 'warn',
})
await vite.listen()
const url = vite.resolvedUrls?.local[0] ?? `http://127.0.0.1:${port}/`

console.log(`
  Flotilla is running.

    Open ${url} in two or more tabs.

  Each tab is a peer: the tabs meet through the relay, connect over WebRTC and form a Raft group
  with the Node witness. Add a document in one tab and search for it in another; close or hide
  the leader's tab and watch the others elect a new one.

  Ctrl-C stops everything. The next npm start keeps the data (delete ${data} to start afresh).
`)

let stopping = false
const stop = async () => {
  if (stopping) return
  stopping = true
  say('stopping')
  await vite.close().catch(() => {})
  await witness.stop()
  say('stopped')
  process.exit(0)
}
process.on('SIGINT', stop)
process.on('SIGTERM', stop)
// Vite's own SIGTERM handler may exit before stop() is done: never leave the Node peer orphaned
// (it would keep the data folder locked for the next npm start). On SIGTERM it shuts down cleanly.
process.on('exit', () => {
  if (witness.child.exitCode === null) witness.child.kill('SIGTERM')
})
witness.child.once('exit', (code) => {
  if (stopping) return
  say(`the Node peer exited (${code}); stopping`)
  void vite.close().then(() => process.exit(1))
})
