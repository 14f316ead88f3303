import { describe, expect, it } from 'vitest'
import { createIndex } from '../../src/vector/index.js'
import { clustered } from './data.js'

const load = (m: string) => import(/* @vite-ignore */ m)
const { execFileSync } = await load('node:child_process')
const { mkdtempSync, rmSync, writeFileSync } = await load('node:fs')
const { tmpdir } = await load('node:os')
const { createRequire } = await load('node:module')
const { fileURLToPath } = await load('node:url')
declare const process: { execPath: string }
declare const URL: new (url: string, base: string) => object

// The npm `deno` package carries the binary in a per-platform optional dependency; bin.cjs
// finds it without the (blocked) postinstall script.
const denoBin: string = createRequire(import.meta.url).resolve('deno/bin.cjs')
const script: string = fileURLToPath(new URL('./deno/check.ts', import.meta.url))

describe('the WASM index in Deno', () => {
  it('runs, is the default engine there, and reads an index the native addon wrote', async () => {
    const d = 16
    const native = await createIndex({ dimensions: d, metric: 'l2sq', engine: 'native' })
    native.addMany(
      Array.from({ length: 300 }, (_, i) => i + 5000),
      clustered(300, d, 23),
    )
    const dir = mkdtempSync(`${tmpdir()}/flotilla-deno-`)
    try {
      const file = `${dir}/native.usearch`
      writeFileSync(file, native.serialize())
      const out: string = execFileSync(
        process.execPath,
        [
          denoBin,
          'run',
          '--quiet',
          '--no-lock',
          '--allow-read',
          // cbor-x's Node entry (the one Deno picks) reads this variable.
          '--allow-env=CBOR_NATIVE_ACCELERATION_DISABLED',
          script,
          file,
        ],
        { encoding: 'utf8', timeout: 60_000 },
      )
      const seen = JSON.parse(out.trim().split('\n').at(-1)!)
      expect(seen.engine).toBe('wasm')
      expect(seen.count).toBe(500)
      expect(seen.self).toEqual([0, 100, 499])
      expect(seen.copyCount).toBe(500)
      expect(seen.fromNativeCount).toBe(300)
      expect(seen.fromNativeHits).toEqual(native.searchMany(clustered(10, d, 22), 5).map((h) => h.keys))
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
