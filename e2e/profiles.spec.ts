import { expect, test, until } from './fixtures/cluster.js'

test('two browser profiles in one group; 5 tabs writing at once', async ({ cluster }) => {
  test.setTimeout(300_000)
  const profileA = await cluster.newContext()
  const profileB = await cluster.newContext()
  const tabs = []
  for (const context of [profileA, profileA, profileA, profileB, profileB])
    tabs.push(await cluster.openTab({ context }))
  const first = tabs[0]
  expect(new Set(tabs.map((t) => t.id)).size).toBe(5)
  await cluster.leader()
  type Counted = { count: number }
  type Read = { text: string | null }
  const seeded = (await first.retrying<Counted>('count', ['linearizable'])).count

  const written = await Promise.all(
    tabs.flatMap((tab, i) =>
      Array.from({ length: 8 }, (_, j) =>
        tab.retrying('add', [`Tab ${i} writes note ${j} about the harbour`, `w${i}-${j}`]),
      ),
    ),
  )
  expect(written).toHaveLength(40)
  for (const tab of tabs)
    expect((await tab.retrying<Counted>('count', ['linearizable'])).count).toBe(seeded + 40)
  // Every write is readable from a tab of the other profile.
  const inB = tabs[3]
  for (const id of ['w0-0', 'w1-7', 'w2-3'])
    expect((await inB.retrying<Read>('get', [id, 'linearizable'])).text).toContain('writes note')
  const inA = tabs[0]
  for (const id of ['w3-1', 'w4-6'])
    expect((await inA.retrying<Read>('get', [id, 'linearizable'])).text).toContain('writes note')
})

test('one peer per profile: a second tab uses it over a BroadcastChannel and takes it over, losing nothing', async ({
  cluster,
}) => {
  // Another profile runs a peer of its own, so the group keeps a quorum during the handover.
  await cluster.openTab()
  const profile = await cluster.newContext()
  const owner = await cluster.openTab({ context: profile, mode: 'profile' })
  const second = await cluster.openTab({ context: profile, mode: 'profile', joined: false })
  const hosts = (tab: typeof owner) => tab.page.evaluate(() => window.flotilla!.hostsPeer())
  expect(await hosts(owner)).toBe(true)
  expect(await hosts(second)).toBe(false)
  expect(second.id).toBe(owner.id)

  const viaOwner = await owner.add('Written by the tab that holds the peer', 'profile-1')
  const viaSecond = await second.add('Written through the BroadcastChannel', 'profile-2')
  expect(viaSecond.index).toBeGreaterThan(viaOwner.index)

  await cluster.closeTab(owner)
  await until(
    async () => ((await hosts(second)) ? true : undefined),
    30_000,
    'the second tab takes the peer over',
  )
  const status = await cluster.waitJoined(second)
  expect(status.id).toBe(owner.id)
  for (const [id, text] of [
    ['profile-1', 'Written by the tab that holds the peer'],
    ['profile-2', 'Written through the BroadcastChannel'],
  ]) {
    const r = await second.get(id, 'linearizable')
    expect(r.text).toBe(text)
  }
  const after = await second.add('Written after the handover', 'profile-3')
  expect(after.index).toBeGreaterThan(viaSecond.index)
  expect((await second.get('profile-3', 'local')).text).toBe('Written after the handover')
})
