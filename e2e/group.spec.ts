import { expect, type TabCluster, test, until } from './fixtures/cluster.js'

// One group of three tabs goes through three scenarios in turn (a group takes a while to form).
test('3 tabs and a Node witness: election, linearizable read, reload, closing the leader', async ({
  cluster,
}) => {
  test.setTimeout(240_000)
  await test.step('a leader is elected; a write in tab A is read linearizably in tab C', () =>
    electAndRead(cluster))
  await test.step('a reloaded tab recovers from IndexedDB and catches up from the log, without a snapshot', () =>
    reload(cluster))
  await test.step('closing the leader tab: a new leader within 2 s and writes go on', () =>
    closeLeader(cluster))
})

async function electAndRead(cluster: TabCluster): Promise<void> {
  const tabs = await cluster.openTabs(3)
  const leader = await cluster.leader()
  const status = await leader.status()
  expect(status.members.map((m) => m.kind).sort()).toEqual(['voter', 'voter', 'voter', 'witness'])
  expect(status.members.find((m) => m.kind === 'witness')?.id).toBe(cluster.witness.id)

  const [a, , c] = tabs
  const written = await a.add('The lighthouse keeper logs every passing ferry', 'e2e-lighthouse')
  const read = await c.get('e2e-lighthouse', 'linearizable')
  expect(read.text).toBe('The lighthouse keeper logs every passing ferry')
  expect(read.consistency).toBe('linearizable')
  expect(read.index).toBeGreaterThanOrEqual(written.index)
  expect(read.peer).toBe(c.id)

  const found = await c.search('lighthouse keeper ferry', { consistency: 'linearizable', k: 3 })
  expect(found.hits[0].id).toBe('e2e-lighthouse')
  expect(found.stalenessMs).toBe(0)
}

async function closeLeader(cluster: TabCluster): Promise<void> {
  const leader = await cluster.leader()
  const rest = cluster.tabs.filter((t) => t !== leader)
  const { term } = await leader.status()
  const closedAt = Date.now()
  await cluster.closeTab(leader)

  const next = await cluster.leader(rest, 15_000)
  expect(next.id).not.toBe(leader.id)
  // When the new leader took office, by its own event log (the same machine clock).
  const events = await next.events()
  const elected = events.find(
    (e) => e.kind === 'role' && e.text.startsWith('this peer is leader') && e.at >= closedAt,
  )
  expect(elected, 'the new leader logged its election').toBeDefined()
  // The issue asks for a new leader within 2 s. Tests assert no wall-clock time (a loaded
  // machine stretches it), so the figure is recorded in the report instead.
  const failoverMs = elected!.at - closedAt
  test.info().annotations.push({ type: 'failover_ms', description: String(failoverMs) })
  console.log(`failover: a new leader ${failoverMs} ms after the leader's tab closed`)
  expect((await next.status()).term).toBeGreaterThan(term)

  const other = rest.find((t) => t !== next)!
  const { index } = await other.add('Written after the old leader closed', 'after-close')
  const read = await next.get('after-close', 'linearizable')
  expect(read.text).toBe('Written after the old leader closed')
  expect(read.index).toBeGreaterThanOrEqual(index)
}

async function reload(cluster: TabCluster): Promise<void> {
  const tabs = cluster.tabs
  const leader = await cluster.leader()
  const follower = tabs.find((t) => t !== leader)!
  const before = await follower.status()

  const reloading = follower.page.reload()
  // Written while the tab reloads: it must get them from the log.
  const writes = []
  for (let i = 0; i < 5; i++)
    writes.push(await leader.add(`Written during the reload, number ${i}`, `reload-${i}`))
  await reloading
  await follower.page.waitForFunction(() => window.flotilla !== undefined, null, { timeout: 60_000 })
  expect(await follower.call<string>('id')).toBe(follower.id)
  const after = await cluster.waitJoined(follower)
  expect(after.lastIndex).toBeGreaterThanOrEqual(before.lastIndex)

  const last = writes.at(-1)!
  const read = await until(
    async () => {
      const r = await follower.get('reload-4', 'local')
      return r.text ? r : undefined
    },
    20_000,
    'the reloaded tab applies the writes it missed',
  )
  expect(read.index).toBeGreaterThanOrEqual(last.index)
  const events = await follower.events()
  expect(events.some((e) => e.kind === 'start' && e.text.includes('recovered from IndexedDB'))).toBe(true)
  const metrics = await follower.metrics()
  expect(metrics.snapshotsInstalled).toBe(0)
  expect(metrics.appliedIndex).toBeGreaterThanOrEqual(last.index)
}
