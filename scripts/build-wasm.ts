import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * `npm run build:wasm [-- --out DIR]` compiles usearch's C++ headers (from the pinned `usearch`
 * npm package) and our C wrapper into packages/core/src/vector/wasm/build/. The output is
 * committed; the build is deterministic, so a rebuild must reproduce it byte for byte.
 */
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const wasmDir = join(root, 'packages/core/src/vector/wasm')
const source = 'usearch-wasm.cpp'
const include = relative(wasmDir, join(root, 'node_modules/usearch/include'))

export const EXPORTED = [
  'malloc',
  'free',
  'fl_last_error',
  'fl_new',
  'fl_free',
  'fl_dimensions',
  'fl_connectivity',
  'fl_size',
  'fl_capacity',
  'fl_expansion_search',
  'fl_expansion_add',
  'fl_change_expansion_search',
  'fl_change_expansion_add',
  'fl_reserve',
  'fl_add_many',
  'fl_add_one',
  'fl_search_one',
  'fl_remove',
  'fl_contains',
  'fl_search_many',
  'fl_serialized_length',
  'fl_save',
  'fl_load',
  'fl_view',
]

export const FLAGS = [
  '-O3',
  '-msimd128',
  '-std=c++17',
  '-DUSEARCH_USE_NUMKONG=0',
  '-DUSEARCH_USE_OPENMP=0',
  // Release build: usearch's internal assertions sit in its hot loops.
  '-DNDEBUG',
  '-sMODULARIZE=1',
  '-sEXPORT_ES6=1',
  '-sEXPORT_NAME=createUsearchModule',
  '-sALLOW_MEMORY_GROWTH=1',
  '-sFILESYSTEM=0',
  '-sWASM_BIGINT=1',
  // Node-specific glue would `require('fs')`; the binary is always handed in, so none is needed.
  '-sENVIRONMENT=web,worker',
  `-sEXPORTED_FUNCTIONS=${EXPORTED.map((f) => `_${f}`).join(',')}`,
]

/** sha256 of every input, so a test can tell a stale build without Emscripten. */
export function inputDigest(): string {
  const hash = createHash('sha256')
  const headers = join(root, 'node_modules/usearch/include/usearch')
  for (const name of readdirSync(headers).sort()) hash.update(name).update(readFileSync(join(headers, name)))
  hash.update(readFileSync(join(wasmDir, source)))
  hash.update(FLAGS.join(' '))
  return hash.digest('hex')
}

export function build(outDir: string): void {
  mkdirSync(outDir, { recursive: true })
  execFileSync(
    process.env.EMCC ?? 'emcc',
    [...FLAGS, `-I${include}`, source, '-o', join(outDir, 'usearch.js')],
    {
      cwd: wasmDir,
      stdio: 'inherit',
      // Debian's emscripten needs Debian's acorn, found through NODE_PATH.
      env: { ...process.env, NODE_PATH: process.env.NODE_PATH ?? '/usr/share/nodejs' },
    },
  )
  const sha = (f: string) =>
    createHash('sha256')
      .update(readFileSync(join(outDir, f)))
      .digest('hex')
  const manifest = {
    usearch: JSON.parse(readFileSync(join(root, 'node_modules/usearch/package.json'), 'utf8')).version,
    inputs: inputDigest(),
    'usearch.js': sha('usearch.js'),
    'usearch.wasm': sha('usearch.wasm'),
  }
  writeFileSync(join(outDir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`)
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const at = process.argv.indexOf('--out')
  const out = at > 0 ? resolve(process.argv[at + 1]) : join(wasmDir, 'build')
  build(out)
  console.log(`build:wasm: wrote ${relative(root, out)}/usearch.{js,wasm}, manifest.json`)
}
