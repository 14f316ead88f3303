import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type BrowserContext, expect, type Page, test } from '@playwright/test'
import { freePort } from '../scripts/node-witness.js'
import { HIDDEN_TAB_INIT_SCRIPT } from './fixtures/hidden-tab.js'

interface Started {
  child: ChildProcess
  url: Promise<string>
  output(): string
  /** Ctrl-C: SIGINT to the whole process group, as a terminal sends it; resolves on exit. */
  stop(): Promise<void>
}

/** Runs `npm start` and resolves `url` with the URL it prints. */
function npmStart(data: string, port: number): Started {
  const child = spawn('npm', ['start', '--', '--data', data, '--port', String(port)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  })
  let output = ''
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const url = new Promise<string>((resolve, reject) => {
    const onData = (d: Buffer) => {
      output += d.toString()
      const m = /Open (http:\/\/\S+) in two or more tabs/.exec(output)
      if (m) resolve(m[1])
    }
    child.stdout?.on('data', onData)
    child.stderr?.on('data', onData)
    child.once('exit', (code) => reject(new Error(`npm start exited with ${code}:\n${output}`)))
  })
  return {
    child,
    url,
    output: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGINT')
      await exited
    },
  }
}

async function waitForPeer(page: Page): Promise<void> {
  await page.waitForFunction(() => window.flotilla !== undefined, null, { timeout: 90_000 })
}

/** Until the three pages agree on one leader among them, with three voters. */
async function expectOneLeader(pages: Page[]): Promise<void> {
  await expect
    .poll(
      async () => {
        const views = await Promise.all(
          pages.map((p) =>
            p.evaluate(async () => {
              const s = await window.flotilla!.status()
              return {
                id: s.id,
                leader: s.leader,
                voters: s.members.filter((m) => m.kind === 'voter').length,
              }
            }),
          ),
        )
        const agreed = views.every((v) => v.leader === views[0].leader && v.voters === 3)
        return agreed && views.some((v) => v.id === views[0].leader) ? 'one leader' : JSON.stringify(views)
      },
      { timeout: 90_000 },
    )
    .toBe('one leader')
}

test('npm start: three tabs elect a leader, a document added in one is found in another; a restart keeps the data', async ({
  browser,
}, testInfo) => {
  test.setTimeout(360_000)
  const data = mkdtempSync(join(tmpdir(), 'flotilla-start-'))
  const port = await freePort()
  let started = npmStart(data, port)
  const contexts: BrowserContext[] = []
  try {
    const url = await started.url
    for (let i = 0; i < 3; i++) {
      const context = await browser.newContext({
        permissions: ['camera', 'microphone'],
        viewport: { width: 1360, height: 900 },
      })
      await context.addInitScript(HIDDEN_TAB_INIT_SCRIPT)
      contexts.push(context)
    }
    const pages: Page[] = []
    for (const context of contexts) {
      const page = await context.newPage()
      await page.goto(url)
      await waitForPeer(page)
      pages.push(page)
    }
    await expectOneLeader(pages)
    await expect(pages[1].locator('.ring .crown')).toHaveCount(1)

    // Tab 1 adds a document through the page; tab 3 finds it.
    await pages[0].fill('#add-text', 'Night ferry to Tromsø carries a grand piano on deck')
    await pages[0].click('#add-form button')
    await expect(pages[0].locator('#notice')).toContainText('committed at index')
    await pages[2].fill('#search-text', 'grand piano ferry Tromsø')
    await pages[2].selectOption('#consistency', '0')
    await pages[2].click('#search-form button')
    await expect(pages[2].locator('#hits li').first()).toContainText('grand piano on deck')
    await expect(pages[2].locator('#answer')).toContainText('linearizable')

    await pages[2].waitForTimeout(1500) // the group panel shows the leader's view of each member's lag
    const shot = testInfo.outputPath('demo.png')
    await pages[2].screenshot({ path: shot, fullPage: true })
    await testInfo.attach('demo', { path: shot, contentType: 'image/png' })
    const witnessLine = /Node peer (\S+) \(relay \+ witness\)/.exec(started.output())?.[1]

    // Ctrl-C stops the Node peer and Vite; npm start again on the same folder keeps the data.
    await started.stop()
    expect(started.output()).toContain('flotilla: stopped')
    started = npmStart(data, port)
    await started.url
    expect(/Node peer (\S+) \(relay \+ witness\)/.exec(started.output())?.[1]).toBe(witnessLine)
    for (const page of pages) {
      await page.reload()
      await waitForPeer(page)
    }
    await expectOneLeader(pages)
    const read = await pages[1].evaluate(() =>
      window.flotilla!.search('grand piano ferry', { consistency: 'linearizable', k: 1 }),
    )
    expect(read.hits[0].text).toBe('Night ferry to Tromsø carries a grand piano on deck')
    const events = await pages[1].evaluate(() => window.flotilla!.events())
    expect(events.some((e) => e.text.includes('recovered from IndexedDB'))).toBe(true)
  } finally {
    for (const c of contexts) await c.close().catch(() => {})
    await started.stop()
    rmSync(data, { recursive: true, force: true })
  }
})
