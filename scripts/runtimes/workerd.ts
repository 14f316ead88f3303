import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { Miniflare } from 'miniflare'

const WASM = fileURLToPath(
  new URL('../../packages/core/dist/vector/wasm/build/usearch.wasm', import.meta.url),
)

/**
 * Bundles `entry` as wrangler would for workerd: the `workerd`/`worker`/`browser` export
 * conditions (so @flotilla/* come from dist/, as an app that installed them gets them), and
 * `usearch.wasm` left as a module import for workerd to compile.
 */
export async function bundleWorker(entry: string): Promise<string> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    conditions: ['workerd', 'worker', 'browser'],
    mainFields: ['browser', 'module', 'main'],
    external: ['./usearch.wasm', 'node:*'],
    write: false,
    logLevel: 'error',
  })
  return result.outputFiles[0].text
}

export interface Workerd {
  url: string
  mf: Miniflare
  stop(): Promise<void>
}

/**
 * Runs a bundled worker in workerd (through miniflare, offline) with `usearch.wasm` beside it
 * as a compiled module, Durable Object classes bound by name, their SQLite storage kept in a
 * temporary folder.
 */
export async function startWorkerd(
  script: string,
  durableObjects: Record<string, string> = {},
  bindings: Record<string, string> = {},
): Promise<Workerd> {
  const persist = mkdtempSync(join(tmpdir(), 'flotilla-workerd-'))
  const mf = new Miniflare({
    modules: [
      { type: 'ESModule', path: 'worker.js', contents: script },
      { type: 'CompiledWasm', path: 'usearch.wasm', contents: readFileSync(WASM) },
    ],
    compatibilityDate: '2025-09-01',
    compatibilityFlags: ['nodejs_compat'],
    durableObjects: Object.fromEntries(
      Object.entries(durableObjects).map(([binding, className]) => [binding, { className, useSQLite: true }]),
    ),
    durableObjectsPersist: persist,
    bindings,
    host: '127.0.0.1',
    port: 0,
  })
  const url = (await mf.ready).toString().replace(/\/$/, '')
  return {
    url,
    mf,
    async stop() {
      await mf.dispose()
      rmSync(persist, { recursive: true, force: true })
    },
  }
}
