import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { extname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { build, defaultClientConditions } from 'vite'

/**
 * `npm run bench -- bundle`: the gzip size of what a browser peer loads (JavaScript and
 * WebAssembly, UI excluded): bench/bundle/peer.html (peer-entry.ts) built for production by Vite, as
 * an app would bundle it. Baseline, built the same way in the same run: a plain libp2p browser
 * node with the same transports (bench/bundle/libp2p.html). gzip level 9. Ends with one JSON line (goal: peer_bundle_gzip_kb <= 450).
 */
const here = fileURLToPath(new URL('bundle/', import.meta.url))

async function measure(page: string): Promise<{ jsKb: number; wasmKb: number; totalKb: number }> {
  const outDir = mkdtempSync(join(tmpdir(), 'flotilla-bundle-'))
  try {
    await build({
      configFile: false,
      logLevel: 'warn',
      root: here,
      // Workspace packages from their TypeScript sources (see the root README, "Packages").
      resolve: { conditions: ['@flotilla/source', ...defaultClientConditions] },
      build: {
        outDir,
        emptyOutDir: true,
        target: 'es2022',
        reportCompressedSize: false,
        chunkSizeWarningLimit: 4096,
        rolldownOptions: { input: join(here, page) },
      },
    })
    let js = 0
    let wasm = 0
    const walk = (dir: string) => {
      for (const f of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, f.name)
        if (f.isDirectory()) walk(path)
        else if (extname(f.name) === '.js') js += gzipSync(readFileSync(path), { level: 9 }).length
        else if (extname(f.name) === '.wasm') wasm += gzipSync(readFileSync(path), { level: 9 }).length
      }
    }
    walk(outDir)
    const kb = (n: number) => Math.round((n / 1024) * 10) / 10
    return { jsKb: kb(js), wasmKb: kb(wasm), totalKb: kb(js + wasm) }
  } finally {
    rmSync(outDir, { recursive: true, force: true })
  }
}

const baseline = await measure('libp2p.html')
const peer = await measure('peer.html')
console.log(`plain libp2p browser node: ${baseline.totalKb} KiB gzip (JS ${baseline.jsKb})`)
console.log(`browser peer: ${peer.totalKb} KiB gzip (JS ${peer.jsKb}, WASM ${peer.wasmKb})`)
console.log(`peer / libp2p alone: ${(peer.totalKb / baseline.totalKb).toFixed(2)}x; goal <= 450 KiB`)
console.log(
  JSON.stringify({
    bench: 'bundle',
    peer_bundle_gzip_kb: peer.totalKb,
    peer_js_gzip_kb: peer.jsKb,
    peer_wasm_gzip_kb: peer.wasmKb,
    libp2p_only_gzip_kb: baseline.totalKb,
    ratio_peer_libp2p: Math.round((peer.totalKb / baseline.totalKb) * 100) / 100,
  }),
)
