import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { afterEach, describe, expect, it } from 'vitest'
import { browserPeer } from '../src/browser/config.js'
import { loadOrCreateIdentity, membershipGate, memoryKeyStore } from '../src/index.js'
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
  const refused = async (options: Parameters<typeof browserPeer>[0], addr: string) =>
    (await browserPeer(options).connectionGater?.denyDialMultiaddr?.(multiaddr(addr))) === true

  it('keeps libp2p’s refusal of ws:// and private addresses unless asked', async () => {
    expect(await refused({}, '/ip4/127.0.0.1/tcp/9000/ws')).toBe(true)
    expect(await refused({}, '/ip4/192.168.1.2/tcp/443/wss')).toBe(true)
    expect(await refused({}, '/dns4/relay.example.com/tcp/443/wss')).toBe(false)
  })

  it('with allowInsecureLocalDials, allows loopback only: it is not an allow-all gate', async () => {
    const local = { allowInsecureLocalDials: true }
    expect(await refused(local, '/ip4/127.0.0.1/tcp/9000/ws')).toBe(false)
    expect(await refused(local, '/ip6/::1/tcp/9000/ws')).toBe(false)
    expect(await refused(local, '/ip4/192.168.1.2/tcp/9000/ws')).toBe(true)
    expect(await refused(local, '/ip4/10.0.0.7/tcp/443/wss')).toBe(true)
    expect(await refused(local, '/dns4/relay.example.com/tcp/80/ws')).toBe(true)
  })

  it('with a gate, refuses strangers dialling through a relay or over WebRTC, loopback or not', async () => {
    const member = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const stranger = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const gate = membershipGate({ members: [member.toString()] })
    const gater = browserPeer({ gate, allowInsecureLocalDials: true }).connectionGater!
    expect(await gater.denyInboundRelayedConnection?.(member, stranger)).toBe(true)
    expect(await gater.denyInboundRelayedConnection?.(stranger, member)).toBe(false)
    expect(await gater.denyInboundEncryptedConnection?.(stranger, {} as never)).toBe(true)
    expect(await gater.denyInboundEncryptedConnection?.(member, {} as never)).toBe(false)
  })
})
