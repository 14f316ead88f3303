import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { describe, expect, it } from 'vitest'
import { indexedDbKeyStore } from '../src/browser/key-store.js'
import { loadOrCreateIdentity } from '../src/identity.js'

describe('IndexedDB key store', () => {
  it('keeps the same PeerId across loads, one per database name', async () => {
    const db = `flotilla-identity-test-${Math.random()}`
    const first = await loadOrCreateIdentity(indexedDbKeyStore(db))
    const again = await loadOrCreateIdentity(indexedDbKeyStore(db))
    expect(peerIdFromPrivateKey(again).toString()).toBe(peerIdFromPrivateKey(first).toString())
    const other = await loadOrCreateIdentity(indexedDbKeyStore(`${db}-other`))
    expect(peerIdFromPrivateKey(other).toString()).not.toBe(peerIdFromPrivateKey(first).toString())
  })
})
