import { describe, expect, it } from 'vitest'
import { openIdbStorage } from '../src/index.js'

const peer = (name: string) => `${name}-${Math.random().toString(36).slice(2)}`

describe('IdbStorage Web Lock', () => {
  it('refuses a second opener of the same peer with ERR_LOCKED', async () => {
    const id = peer('lock')
    const first = await openIdbStorage({ peerId: id })
    const err = await openIdbStorage({ peerId: id }).catch((e: unknown) => e)
    expect(err).toMatchObject({ code: 'ERR_LOCKED' })
    expect((err as Error).message).toContain(id)
    // A different peer is independent.
    const other = await openIdbStorage({ peerId: peer('other') })
    await other.close()
    await first.close()
  })

  it('lets a waiting opener in once the holder closes, with the holder’s writes', async () => {
    const id = peer('wait')
    const first = await openIdbStorage({ peerId: id })
    let opened = false
    const waiting = openIdbStorage({ peerId: id, wait: true }).then((s) => {
      opened = true
      return s
    })
    await first.save({
      entries: [{ index: 1, term: 1, type: 0, data: new Uint8Array([7]) }],
      hardState: { term: 1, vote: 'x', commit: 1 },
    })
    await new Promise((r) => setTimeout(r, 50))
    expect(opened).toBe(false)
    await first.close()
    const second = await waiting
    expect(await second.load()).toMatchObject({ lastIndex: 1, hardState: { term: 1, vote: 'x', commit: 1 } })
    await second.close()
  })

  it('gives up waiting when the signal aborts', async () => {
    const id = peer('abort')
    const first = await openIdbStorage({ peerId: id })
    const ctl = new AbortController()
    const waiting = openIdbStorage({ peerId: id, wait: true, signal: ctl.signal })
    ctl.abort()
    await expect(waiting).rejects.toMatchObject({ code: 'ERR_LOCKED' })
    await first.close()
  })
})
