import { createReadStream } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { extname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build, defaultClientConditions } from 'vite'

const here = fileURLToPath(new URL('.', import.meta.url))

/** Bundles the browser peer page with Vite into `outDir`. */
export async function buildPeerPage(outDir: string): Promise<void> {
  await build({
    configFile: false,
    root: here,
    logLevel: 'warn',
    // Workspace packages from their TypeScript sources (see the root README, "Packages").
    resolve: { conditions: ['@flotilla/source', ...defaultClientConditions] },
    build: { outDir, emptyOutDir: true, target: 'es2022', minify: false, reportCompressedSize: false },
  })
}

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css' }

/** Serves `dir` on 127.0.0.1 at a free port. */
export async function servePage(dir: string): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname
    const file = join(dir, path === '/' ? 'index.html' : path)
    if (!file.startsWith(dir)) {
      res.writeHead(403).end()
      return
    }
    const stream = createReadStream(file)
    stream.on('error', () => res.writeHead(404).end())
    stream.on('open', () => {
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' })
      stream.pipe(res)
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const addr = server.address()
  if (addr === null || typeof addr === 'string') throw new Error('no server address')
  return { url: `http://127.0.0.1:${addr.port}/`, server }
}
