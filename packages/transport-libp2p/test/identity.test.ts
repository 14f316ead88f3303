import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { afterEach, describe, expect, it } from 'vitest'
import { browserPeer } from '../src/browser/config.js'
import { loadOrCreateIdentity, memoryKeyStore } from '../src/index.js'
import { fileKeyStore } from '../src/node/index.js'

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

describe('peer identity', () => {
  it('keeps the same Ed25519 PeerId across restarts with a file key store', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flotilla-key-'))
    dirs.push(dir)
    const path = join(dir, 'nested', 'peer.key')
    const first = await loadOrCreateIdentity(fileKeyStore(path))
    expect(first.type).toBe('Ed25519')
    expect(statSync(path).mode & 0o777).toBe(0o600)
    const again = await loadOrCreateIdentity(fileKeyStore(path))
    expect(peerIdFromPrivateKey(again).toString()).toBe(peerIdFromPrivateKey(first).toString())
    const other = await loadOrCreateIdentity(fileKeyStore(join(dir, 'other.key')))
    expect(peerIdFromPrivateKey(other).toString()).not.toBe(peerIdFromPrivateKey(first).toString())
  })

  it('creates a key once per store', async () => {
    const store = memoryKeyStore()
    const a = await loadOrCreateIdentity(store)
    const b = await loadOrCreateIdentity(store)
    expect(peerIdFromPrivateKey(a).equals(peerIdFromPrivateKey(b))).toBe(true)
  })
})

describe('browser configuration', () => {
  it('leaves libp2p’s refusal of ws:// and private addresses on unless asked', async () => {
    const strict = browserPeer()
    expect(strict.connectionGater?.denyDialMultiaddr).toBeUndefined()
    const local = browserPeer({ allowInsecureLocalDials: true })
    expect(await local.connectionGater?.denyDialMultiaddr?.({} as never)).toBe(false)
  })
})
