import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { extname, join, normalize, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { chromium } from 'playwright-core'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../chromium.js'

/**
 * What a web app gets from the registry: the packed tarballs, installed into a fresh Vite app
 * outside the workspace (so nothing resolves to workspace sources), built, served and opened in
 * Chromium, where it opens a one-voter peer on libp2p, IndexedDB and the WASM engine, and searches.
 */
const run = promisify(execFile)
const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)))
const PACKAGES = ['packages/core', 'packages/storage-idb', 'packages/transport-libp2p']
// The major the workspace builds with; any consumer's Vite should do.
const VITE = '^8.0.0'

const MAIN_JS = `
import { openPeer } from '@flotilla/core'
import wasm from '@flotilla/core/usearch.wasm?url'
import { openIdbStorage } from '@flotilla/storage-idb'
import {
  browserPeer,
  createLibp2pTransport,
  indexedDbKeyStore,
  loadOrCreateIdentity,
} from '@flotilla/transport-libp2p/browser'
import { createLibp2p } from 'libp2p'

async function main() {
  const privateKey = await loadOrCreateIdentity(indexedDbKeyStore('consumer-keys', 'tab'))
  // No STUN: the page reaches nothing outside loopback.
  const node = await createLibp2p(browserPeer({ privateKey, iceServers: [] }))
  const id = node.peerId.toString()
  const storage = await openIdbStorage({ peerId: id })
  const transport = await createLibp2pTransport(node, { isMember: () => true })
  const peer = await openPeer({
    id,
    storage,
    transport,
    role: 'data',
    bootstrap: { voters: [id] },
    engine: { engine: 'wasm', wasm: new URL(wasm, location.href).href },
  })
  // A one-voter group elects itself within a few ticks.
  while (peer.status().raftRole !== 'leader') await new Promise((r) => setTimeout(r, 10))
  await peer.createCollection('docs', { dimensions: 3, metric: 'cos' })
  const docs = peer.collection('docs')
  const { index } = await docs.upsert([
    { id: 'north', vector: [0, 1, 0], metadata: { title: 'north' } },
    { id: 'east', vector: [1, 0, 0], metadata: { title: 'east' } },
  ])
  const { hits } = await docs.search([0.9, 0.1, 0], { k: 1, minIndex: index })
  await peer.close()
  await node.stop()
  return hits.map((hit) => ({ id: hit.id, title: hit.metadata && hit.metadata.title }))
}

main().then(
  (hits) => { window.__result = { hits } },
  (error) => { window.__result = { error: String(error && error.stack || error) } },
)
`

const INDEX_HTML = `<!doctype html>
<html><head><meta charset="utf-8"><title>flotilla consumer</title></head>
<body><script type="module" src="/main.js"></script></body></html>
`

const MIME: Record<string, string> = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.wasm': 'application/wasm',
}

/** The app creates its libp2p node itself, with the version the transport was built against. */
async function libp2pRange(): Promise<string> {
  const manifest = JSON.parse(await readFile(join(ROOT, 'packages/transport-libp2p/package.json'), 'utf8'))
  return manifest.dependencies.libp2p
}

let dir = ''
let server: Server | undefined

/** The child's environment without npm's and the workspace's settings (conditions, workspace). */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (key.toLowerCase().startsWith('npm_') || key === 'NODE_OPTIONS' || key === 'INIT_CWD') continue
    env[key] = value
  }
  return env
}

/** Serves `root` on loopback, refusing paths that leave it. */
function serve(root: string): Promise<string> {
  const srv = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)
    const file = normalize(join(root, path === '/' ? 'index.html' : path))
    if (!file.startsWith(root)) return void res.writeHead(403).end()
    try {
      const body = await readFile(file)
      res.writeHead(200, { 'content-type': MIME[extname(file)] ?? 'application/octet-stream' }).end(body)
    } catch {
      res.writeHead(404).end()
    }
  })
  server = srv
  return new Promise((done) =>
    srv.listen(0, '127.0.0.1', () => done(`http://127.0.0.1:${(srv.address() as AddressInfo).port}/`)),
  )
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flotilla-vite-app-'))
  const tarballs = join(dir, 'tarballs')
  await mkdir(tarballs)
  // prepack builds each package's dist/, so this is what `npm publish` would upload.
  await run('npm', ['pack', ...PACKAGES.flatMap((p) => ['-w', p]), '--pack-destination', tarballs], {
    cwd: ROOT,
    env: cleanEnv(),
  })
  const packed = (await readdir(tarballs)).filter((f) => f.endsWith('.tgz'))
  expect(packed).toHaveLength(PACKAGES.length)

  const app = join(dir, 'app')
  await mkdir(app)
  const dependencies = Object.fromEntries([
    ...packed.map((f) => [
      f.replace(/-\d+\.\d+\.\d+\.tgz$/, '').replace(/^flotilla-/, '@flotilla/'),
      `file:${join(tarballs, f)}`,
    ]),
    ['vite', VITE],
    ['libp2p', await libp2pRange()],
  ])
  // As the workspace does (transport-libp2p README): an empty react-native-webrtc keeps React
  // Native (about 300 MB) out; browsers never load it.
  const stub = join(dir, 'react-native-webrtc')
  await mkdir(stub)
  await writeFile(
    join(stub, 'package.json'),
    JSON.stringify({ name: 'react-native-webrtc', version: '124.0.8' }),
  )
  const overrides = { 'react-native-webrtc': `file:${stub}` }
  await writeFile(
    join(app, 'package.json'),
    JSON.stringify({ name: 'consumer', private: true, type: 'module', dependencies, overrides }),
  )
  await writeFile(join(app, 'index.html'), INDEX_HTML)
  await writeFile(join(app, 'main.js'), MAIN_JS)
  // Install scripts stay off, as in the workspace (allowScripts); the cache stays in the temp dir.
  await run(
    'npm',
    ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--cache', join(dir, 'npm-cache')],
    { cwd: app, env: cleanEnv() },
  )
  await run(join(app, 'node_modules/.bin/vite'), ['build', '--logLevel', 'warn'], {
    cwd: app,
    env: cleanEnv(),
  })
}, 300_000)

afterAll(async () => {
  await new Promise<void>((done) => (server ? server.close(() => done()) : done()))
  if (dir) await rm(dir, { recursive: true, force: true })
})

test('a Vite app built from the packed tarballs opens a peer in Chromium and finds what it stored', async () => {
  const url = await serve(join(dir, 'app/dist'))
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS })
  try {
    const page = await browser.newPage()
    const errors: string[] = []
    page.on('pageerror', (e) => errors.push(e.message))
    await page.goto(url)
    await page.waitForFunction(() => (globalThis as { __result?: unknown }).__result !== undefined, null, {
      timeout: 60_000,
    })
    const result = (await page.evaluate(() => (globalThis as { __result?: unknown }).__result)) as {
      hits?: { id: string; title?: string }[]
      error?: string
    }
    expect(result.error).toBeUndefined()
    expect(errors).toEqual([])
    expect(result.hits).toEqual([{ id: 'east', title: 'east' }])
  } finally {
    await browser.close()
  }
}, 120_000)
