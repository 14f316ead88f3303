import { type ChildProcess, spawn } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { type Browser, type BrowserContext, chromium } from 'playwright-core'

/** A Chromium this process started itself, reached over the DevTools protocol. */
export interface ChromiumProcess {
  browser: Browser
  context: BrowserContext
  child: ChildProcess
  exited: Promise<void>
}

/**
 * Starts Chromium on `profile` and connects with `noDefaults`: Playwright's own launch keeps
 * every page focused (focus emulation counts as a capture), and a captured page never hides,
 * so it can never be frozen. Connected this way, `Page.setWebLifecycleState` freezes for real.
 */
export async function launchChromium(
  path: string,
  args: string[],
  profile: string,
): Promise<ChromiumProcess> {
  const child = spawn(
    path,
    [...args, '--remote-debugging-port=0', `--user-data-dir=${profile}`, 'about:blank'],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  )
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const endpoint = await new Promise<string>((resolve, reject) => {
    let seen = ''
    child.stderr!.on('data', (data: Buffer) => {
      seen += data
      const m = seen.match(/DevTools listening on (ws:\/\/\S+)/)
      if (m) resolve(m[1])
    })
    void exited.then(() => reject(new Error(`chromium exited before listening: ${seen.slice(-2000)}`)))
  })
  child.stderr!.resume()
  // `noDefaults` is a connectOverCDP option that playwright-core's types do not list.
  const options = { timeout: 30_000, noDefaults: true }
  const browser = await chromium.connectOverCDP(endpoint, options)
  return { browser, context: browser.contexts()[0], child, exited }
}

/** The process `root` and its descendants (Linux /proc), each with its Chromium --type. */
export function processTree(root: number): { pid: number; type: string; webui: boolean }[] {
  const all = new Map<number, { ppid: number; args: string[] }>()
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      // Zygote children rewrite their command line as one string: split on spaces too.
      const args = readFileSync(`/proc/${name}/cmdline`, 'utf8').split(/[\0 ]/)
      // The command may hold spaces and parentheses; the parent pid follows the last ')'.
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8')
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      all.set(Number(name), { ppid, args })
    } catch {
      // gone meanwhile
    }
  }
  const family = new Set([root])
  for (let grew = true; grew; ) {
    grew = false
    for (const [pid, p] of all)
      if (!family.has(pid) && family.has(p.ppid)) {
        family.add(pid)
        grew = true
      }
  }
  return [...family]
    .filter((pid) => all.has(pid))
    .map((pid) => {
      const args = all.get(pid)!.args
      const type = args.find((a) => a.startsWith('--type='))?.slice('--type='.length) ?? 'browser'
      return { pid, type, webui: args.includes('--top-chrome-webui') }
    })
}

/** Whether `pid` still runs: a zombie has released everything, so it counts as gone. */
export function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z'
  } catch {
    return false
  }
}
