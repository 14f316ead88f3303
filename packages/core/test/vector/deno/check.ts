// Run by wasm.deno.test.ts under Deno, with no --unstable flag: @flotilla/core resolves as
// Deno resolves it (package.json exports to dist/). The WASM index must work there unchanged
// (default engine included), and read a file the native addon wrote. Prints one JSON line.
import { createIndex } from '@flotilla/core'
import { clustered, row } from '../data.ts'

declare const Deno: { args: string[]; readFileSync(path: string): Uint8Array }

const d = 16
const index = await createIndex({ dimensions: d, metric: 'l2sq' })
const data = clustered(500, d, 21)
index.addMany(
  Array.from({ length: 500 }, (_, i) => i),
  data,
)
const self = [0, 100, 499].map((i) => index.search(row(data, i, d), 1).keys[0])
const copy = await createIndex({ dimensions: d, metric: 'l2sq', engine: 'wasm' })
copy.load(index.serialize())
const nativeBytes = Deno.readFileSync(Deno.args[0])
const fromNative = await createIndex({ dimensions: d, metric: 'l2sq', engine: 'wasm' })
fromNative.load(nativeBytes)
const queries = clustered(10, d, 22)
console.log(
  JSON.stringify({
    engine: index.engine,
    count: index.count(),
    self,
    copyCount: copy.count(),
    fromNativeCount: fromNative.count(),
    fromNativeHits: fromNative.searchMany(queries, 5).map((h) => h.keys),
  }),
)
