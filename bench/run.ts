import { readdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** `npm run bench -- NAME [args]` runs bench/NAME.ts; each ends with one JSON line of figures. */
const here = dirname(fileURLToPath(import.meta.url))
const available = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts' && !f.startsWith('_'))
  .map((f) => f.slice(0, -3))
const name = process.argv[2]
if (!name || !available.includes(name)) {
  console.error(`usage: npm run bench -- <${available.join('|')}>`)
  process.exit(2)
}
process.argv.splice(2, 1)
await import(join(here, `${name}.ts`))
