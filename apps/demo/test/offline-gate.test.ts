import { MemoryNetwork, type Message, MessageType } from '@flotilla/core'
import { describe, expect, it } from 'vitest'
import { OfflineGate } from '../src/peer/offline-gate.js'

const heartbeat = (from: string, to: string, commit: number): Message => ({
  type: MessageType.Heartbeat,
  from,
  to,
  term: 1,
  commit,
})
const settle = () => new Promise((r) => setTimeout(r, 0))

describe('the offline gate', () => {
  it('passes traffic both ways while online, drops it both ways while offline, and passes it again after', async () => {
    const net = new MemoryNetwork()
    const gate = new OfflineGate(net.endpoint('tab'))
    const other = net.endpoint('other')
    const atTab: number[] = []
    const atOther: number[] = []
    gate.onMessage((m) => atTab.push(m.commit ?? -1))
    other.onMessage((m) => atOther.push(m.commit ?? -1))
    expect(gate.localId).toBe('tab')

    expect(gate.send(heartbeat('tab', 'other', 1))).toBe(true)
    other.send(heartbeat('other', 'tab', 1))
    await settle()

    gate.offline = true
    expect(gate.send(heartbeat('tab', 'other', 2))).toBe(false)
    other.send(heartbeat('other', 'tab', 2))
    await settle()

    gate.offline = false
    gate.send(heartbeat('tab', 'other', 3))
    other.send(heartbeat('other', 'tab', 3))
    await settle()

    expect(atOther).toEqual([1, 3])
    expect(atTab).toEqual([1, 3])
    expect(gate.dropped).toBe(2)
  })
})
