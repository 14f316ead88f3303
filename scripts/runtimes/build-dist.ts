import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/**
 * Vitest global setup of the `runtimes` project: Deno and workerd load the packages as their
 * users do, from dist/, so dist/ is brought up to date first (incremental, ~2 s when it is).
 */
export default function setup(): void {
  const root = fileURLToPath(new URL('../..', import.meta.url))
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' })
}
