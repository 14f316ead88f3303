import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { build } from 'esbuild'
import type { BrowserContext, Page } from 'playwright-core'
import { isRunning, launchChromium, processTree } from './chromium-process.js'

/**
 * Real Chromium with a real on-disk profile, for what Vitest's browser mode cannot do: reload
 * a page, open two tabs of one origin, override the origin's storage quota, freeze a tab, kill
 * processes. The package is bundled with esbuild and served from 127.0.0.1.
 */
export interface IdbBrowser {
  url: string
  /** The on-disk profile: start another browser on it (with the same port) to see this one's data. */
  profile: string
  port: number
  context: BrowserContext
  /** A new tab with the page loaded and `flotillaIdb` ready. */
  newTab(): Promise<Page>
  /**
   * SIGKILLs this browser's renderers (every tab), or all of its processes, and waits until they
   * are gone (so that no file lock of theirs outlives them); returns how many.
   */
  kill(which: 'renderers' | 'all'): Promise<number>
  /** Closes the browser and the server; removes the profile unless it was given. */
  close(): Promise<void>
}

export interface IdbBrowserOptions {
  /** Reuse this profile (and keep it on close). */
  profile?: string
  /** Serve on this port: IndexedDB belongs to the origin, port included. */
  port?: number
}

export async function startIdbBrowser(options: IdbBrowserOptions = {}): Promise<IdbBrowser> {
  const here = dirname(fileURLToPath(import.meta.url))
  const bundle = await build({
    entryPoints: [join(here, 'page-entry.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    // Workspace packages from their TypeScript sources (see the root README, "Packages").
    conditions: ['@flotilla/source'],
    // Native and Node-only code in core is loaded lazily and never on this page.
    external: ['node:*', 'usearch'],
    logLevel: 'error',
  })
  const js = bundle.outputFiles[0].text
  const html =
    '<!doctype html><meta charset="utf-8"><title>flotilla idb</title><script type="module" src="/page.js"></script>'
  const server: Server = createServer((req, res) => {
    if (req.url === '/page.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' })
      res.end(js)
    } else if (req.url === '/' || req.url === '/index.html') {
      res.writeHead(200, { 'content-type': 'text/html' })
      res.end(html)
    } else {
      res.writeHead(404)
      res.end()
    }
  })
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  const url = `http://127.0.0.1:${port}/`
  // The repository's Chromium settings (scripts/ is its own TypeScript project, so load it at run time).
  const chromiumTs = pathToFileURL(join(here, '../../../scripts/chromium.ts')).href
  const { CHROMIUM_ARGS, CHROMIUM_PATH } = (await import(chromiumTs)) as {
    CHROMIUM_ARGS: string[]
    CHROMIUM_PATH: string
  }
  const profile = options.profile ?? mkdtempSync(join(tmpdir(), 'flotilla-chromium-'))
  const { browser, context, child, exited } = await launchChromium(CHROMIUM_PATH, CHROMIUM_ARGS, profile)
  return {
    url,
    profile,
    port,
    context,
    async newTab() {
      const page = await context.newPage()
      await loadPage(page, url)
      return page
    },
    async kill(which) {
      const pids = processTree(child.pid!).filter(
        (p) => which === 'all' || (p.type === 'renderer' && !p.webui),
      )
      for (const p of pids) process.kill(p.pid, 'SIGKILL')
      while (pids.some((p) => isRunning(p.pid))) await new Promise((r) => setTimeout(r, 10))
      return pids.length
    },
    async close() {
      // Browser.close shuts Chromium down in order (a killed one is gone already).
      if (child.exitCode === null && child.signalCode === null) {
        const session = await browser.newBrowserCDPSession().catch(() => null)
        await session?.send('Browser.close').catch(() => {})
      }
      await exited
      await browser.close().catch(() => {})
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      if (!options.profile) rmSync(profile, { recursive: true, force: true })
    },
  }
}

/** Navigates (or reloads) and waits until the bundle has run. */
export async function loadPage(page: Page, url?: string): Promise<void> {
  if (url) await page.goto(url)
  else await page.reload()
  await page.waitForFunction(() => 'flotillaIdb' in globalThis, undefined, { polling: 10 })
}
