import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type BrowserContext, expect, type Page, test } from '@playwright/test'
import { HIDDEN_TAB_INIT_SCRIPT } from './fixtures/hidden-tab.js'

/** Runs `npm start` and resolves with the URL it prints. */
function npmStart(data: string): { child: ChildProcess; url: Promise<string>; output: () => string } {
  const child = spawn('npm', ['start', '--', '--data', data, '--port', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  })
  let output = ''
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
  return { child, url, output: () => output }
}

async function openDemo(context: BrowserContext, url: string): Promise<Page> {
  const page = await context.newPage()
  await page.goto(url)
  await page.waitForFunction(() => window.flotilla !== undefined, null, { timeout: 90_000 })
  return page
}

test('npm start: three tabs elect a leader; a document added in one is found by search in another', async ({
  browser,
}, testInfo) => {
  test.setTimeout(240_000)
  const data = mkdtempSync(join(tmpdir(), 'flotilla-start-'))
  const started = npmStart(data)
  try {
    const url = await started.url
    const contexts = await Promise.all(
      [0, 1, 2].map(() =>
        browser.newContext({ permissions: ['camera', 'microphone'], viewport: { width: 1360, height: 900 } }),
      ),
    )
    for (const c of contexts) await c.addInitScript(HIDDEN_TAB_INIT_SCRIPT)
    const first = await openDemo(contexts[0], url)
    const pages = [first, ...(await Promise.all(contexts.slice(1).map((c) => openDemo(c, url))))]

    // Every tab shows the same leader, one of the three tabs.
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
          const ids = views.map((v) => v.id)
          const agreed = views.every((v) => v.leader === views[0].leader && v.voters === 3)
          return agreed && ids.includes(views[0].leader ?? '') ? 'one leader' : JSON.stringify(views)
        },
        { timeout: 90_000 },
      )
      .toBe('one leader')
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

    await pages[2].waitForTimeout(1500) // let the group panel show the leader's lag view
    const shot = testInfo.outputPath('demo.png')
    await pages[2].screenshot({ path: shot, fullPage: true })
    await testInfo.attach('demo', { path: shot, contentType: 'image/png' })
    for (const c of contexts) await c.close()
  } finally {
    // Ctrl-C: npm start stops the Node peer and Vite, and exits.
    const exited = new Promise((r) => started.child.once('exit', r))
    if (started.child.exitCode === null) process.kill(-started.child.pid!, 'SIGINT')
    await exited
    rmSync(data, { recursive: true, force: true })
  }
  expect(started.output()).toContain('flotilla: stopped')
})
