import { expect, test, until } from './fixtures/cluster.js'
import { History } from './fixtures/history.js'

test('a frozen leader loses office, steps down when it resumes, and the history stays linearizable', async ({
  cluster,
}) => {
  const tabs = await cluster.openTabs(3)
  const leader = await cluster.leader()
  const others = tabs.filter((t) => t !== leader)
  const { term } = await leader.status()

  const history = new History()
  history.start(others)
  await new Promise((r) => setTimeout(r, 1000))
  // Frozen for several election timeouts (1-2 s each): no task runs in the tab.
  await leader.setFrozen(true)
  const next = await cluster.leader(others, 20_000)
  expect(next.id).not.toBe(leader.id)
  expect((await next.status()).term).toBeGreaterThan(term)
  await new Promise((r) => setTimeout(r, 1500))
  await leader.setFrozen(false)
  // The old leader hears of the new term and follows.
  const resumed = await until(
    async () => {
      const s = await leader.status()
      return s.raftRole === 'follower' && s.leader === next.id ? s : undefined
    },
    20_000,
    'the old leader steps down',
  )
  expect(resumed.term).toBeGreaterThan(term)
  // Its own reads and writes join the history once it is back.
  history.start([...others, leader])
  await new Promise((r) => setTimeout(r, 2000))
  await history.stop()

  const { completed, puts } = history.counts()
  expect(puts).toBeGreaterThan(5)
  expect(completed).toBeGreaterThan(10)
  expect(history.check()).toEqual({ ok: true })
})

test('an offline tab serves bounded reads while its bound holds, then ERR_STALE; back online it catches up', async ({
  cluster,
}) => {
  const tabs = await cluster.openTabs(3)
  const leader = await cluster.leader()
  const tab = tabs.find((t) => t !== leader)!
  const { index } = await leader.add('Before the tab went offline', 'offline-before')
  await until(
    async () => ((await tab.status()).applied >= index ? true : undefined),
    10_000,
    'tab applies the write',
  )

  await tab.context.setOffline(true)
  await until(
    async () => ((await tab.call<boolean>('isOffline')) ? true : undefined),
    5000,
    'tab sees it is offline',
  )
  const bound = { maxStalenessMs: 3000 }
  const fresh = await tab.count(bound)
  expect(fresh.stalenessMs).not.toBeNull()
  expect(fresh.stalenessMs!).toBeLessThanOrEqual(3000)

  // Written while the tab is away: it cannot see it, and must not pretend to be fresh.
  const missed = await leader.add('Written while the tab was offline', 'offline-during')
  const stale = await until(
    async () => {
      const r = await tab.attempt<{ stalenessMs: number | null }>('count', bound)
      if (r.ok) {
        // Any answer it still gives is within the bound.
        expect(r.value.stalenessMs).not.toBeNull()
        expect(r.value.stalenessMs!).toBeLessThanOrEqual(3000)
        return undefined
      }
      return r.error
    },
    15_000,
    'the bound runs out',
  )
  expect(stale.code).toBe('ERR_STALE')
  expect(stale.stalenessMs === null || stale.stalenessMs! > 3000).toBe(true)
  expect((await tab.get('offline-during', 'local')).text).toBeNull()

  await tab.context.setOffline(false)
  const caughtUp = await until(
    async () => {
      const r = await tab.attempt<{ text: string | null; index: number }>('get', 'offline-during', bound)
      return r.ok && r.value.text ? r.value : undefined
    },
    20_000,
    'the tab catches up',
  )
  expect(caughtUp.text).toBe('Written while the tab was offline')
  expect(caughtUp.index).toBeGreaterThanOrEqual(missed.index)
})
