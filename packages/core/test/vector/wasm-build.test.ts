import { describe, expect, it } from 'vitest'

// Node built-ins through variables: core's tsconfig has no Node types, on purpose.
const load = (m: string) => import(/* @vite-ignore */ m)
const { createHash } = await load('node:crypto')
const { existsSync, mkdtempSync, readFileSync, rmSync } = await load('node:fs')
const { execFileSync } = await load('node:child_process')
const { tmpdir } = await load('node:os')
const { fileURLToPath } = await load('node:url')
const root: string = fileURLToPath(new URL('../../../../', import.meta.url))
const buildDir = `${root}packages/core/src/vector/wasm/build`
const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex')

function hasEmcc(): boolean {
  try {
    execFileSync(process.env.EMCC ?? 'emcc', ['--version'], {
      stdio: 'ignore',
      env: { ...process.env, NODE_PATH: '/usr/share/nodejs' },
    })
    return true
  } catch {
    return false
  }
}

declare const process: { env: Record<string, string | undefined> }
declare const URL: new (url: string, base: string) => object

describe('the committed WebAssembly build is current', () => {
  const manifest = JSON.parse(readFileSync(`${buildDir}/manifest.json`, 'utf8'))

  it('matches its manifest: same usearch version, same inputs, same output bytes', async () => {
    const { inputDigest } = await load(`${root}scripts/build-wasm.ts`)
    const usearch = JSON.parse(readFileSync(`${root}node_modules/usearch/package.json`, 'utf8'))
    expect(manifest.usearch).toBe(usearch.version)
    expect(manifest.inputs).toBe(inputDigest())
    expect(sha(`${buildDir}/usearch.wasm`)).toBe(manifest['usearch.wasm'])
    expect(sha(`${buildDir}/usearch.js`)).toBe(manifest['usearch.js'])
  })

  const emcc = hasEmcc()
  if (!emcc) console.warn('wasm-build: emcc not found, so the byte-for-byte rebuild is skipped')
  it.skipIf(!emcc)('rebuilds byte for byte with npm run build:wasm (needs emcc)', () => {
    const out = mkdtempSync(`${tmpdir()}/flotilla-wasm-`)
    try {
      execFileSync('npx', ['tsx', 'scripts/build-wasm.ts', '--out', out], { cwd: root, stdio: 'pipe' })
      for (const f of ['usearch.wasm', 'usearch.js', 'manifest.json']) {
        expect(existsSync(`${out}/${f}`)).toBe(true)
        expect(sha(`${out}/${f}`), f).toBe(sha(`${buildDir}/${f}`))
      }
    } finally {
      rmSync(out, { recursive: true, force: true })
    }
  })
})
