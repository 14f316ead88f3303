import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { build } from 'esbuild'
import { type BrowserContext, chromium, type Page } from 'playwright-core'

/**
 * Real Chromium with a real on-disk profile, for what Vitest's browser mode cannot do: reload
 * a page, open two tabs of one origin, override the origin's storage quota. The package is
 * bundled with esbuild and served from 127.0.0.1.
 */
export interface IdbBrowser {
  url: string
  context: BrowserContext
  /** A new tab with the page loaded and `flotillaIdb` ready. */
  newTab(): Promise<Page>
  close(): Promise<void>
}

export async function startIdbBrowser(): Promise<IdbBrowser> {
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
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
  // The repository's Chromium settings (scripts/ is its own TypeScript project, so load it at run time).
  const chromiumTs = pathToFileURL(join(here, '../../../scripts/chromium.ts')).href
  const { CHROMIUM_ARGS, CHROMIUM_PATH } = (await import(chromiumTs)) as {
    CHROMIUM_ARGS: string[]
    CHROMIUM_PATH: string
  }
  const profile = mkdtempSync(join(tmpdir(), 'flotilla-chromium-'))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    args: CHROMIUM_ARGS,
    headless: true,
  })
  return {
    url,
    context,
    async newTab() {
      const page = await context.newPage()
      await loadPage(page, url)
      return page
    },
    async close() {
      await context.close()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      rmSync(profile, { recursive: true, force: true })
    },
  }
}

/** Navigates (or reloads) and waits until the bundle has run. */
export async function loadPage(page: Page, url?: string): Promise<void> {
  if (url) await page.goto(url)
  else await page.reload()
  await page.waitForFunction(() => 'flotillaIdb' in globalThis)
}
