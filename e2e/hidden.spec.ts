import { expect, test, until } from './fixtures/cluster.js'

// Headless Chromium never hides a page: fixtures/hidden-tab.ts emulates what Chrome does to a
// hidden tab (visibilityState, visibilitychange, timers woken at most once a second).
test('a hidden tab keeps the group led by a visible tab and answers no read past its bound', async ({
  cluster,
}) => {
  const tabs = await cluster.openTabs(3)
  const leader = await cluster.leader()
  const follower = tabs.find((t) => t !== leader)!
  const { term } = await leader.status()

  await follower.setHidden(true)
  const bound = { maxStalenessMs: 1500 }
  let answered = 0
  const end = Date.now() + 6000
  while (Date.now() < end) {
    await leader.add(`Written while a tab is hidden at ${Date.now()}`)
    const r = await follower.attempt<{ stalenessMs: number | null }>('count', bound)
    if (r.ok) {
      answered++
      expect(r.value.stalenessMs).not.toBeNull()
      expect(r.value.stalenessMs!).toBeLessThanOrEqual(1500)
    } else {
      expect(r.error.code).toBe('ERR_STALE')
    }
    await new Promise((r) => setTimeout(r, 200))
  }
  expect(answered).toBeGreaterThan(0)
  // The group kept its leader and term throughout.
  for (const tab of tabs) {
    const s = await tab.status()
    expect(s.leader).toBe(leader.id)
    expect(s.term).toBe(term)
  }

  // A leader whose tab is hidden hands over to a visible tab.
  await follower.setHidden(false)
  await leader.setHidden(true)
  const next = await until(
    async () => {
      const s = await follower.status()
      return s.leader && s.leader !== leader.id ? s.leader : undefined
    },
    15_000,
    'leadership moves to a visible tab',
  )
  expect(tabs.find((t) => t.id === next)).toBeDefined()
  expect(next).not.toBe(leader.id)
  const events = await leader.events()
  expect(events.some((e) => e.text.includes('hidden: handing leadership'))).toBe(true)
  await expect(follower.add('Written after the hidden leader handed over')).resolves.toHaveProperty('index')
})
