// What a browser peer loads: openPeer with IndexedDB storage, the WASM index and the libp2p
// browser configuration. No UI. Built by bench/bundle.ts.
import { openPeer } from '@flotilla/core'
import { openIdbStorage } from '@flotilla/storage-idb'
import {
  browserPeer,
  createLibp2pTransport,
  dialWithRetry,
  indexedDbKeyStore,
  loadOrCreateIdentity,
} from '@flotilla/transport-libp2p/browser'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'

const wasm = new URL('../../packages/core/src/vector/wasm/build/usearch.wasm', import.meta.url)

async function start(relay: string) {
  const privateKey = await loadOrCreateIdentity(indexedDbKeyStore())
  const node = await createLibp2p(browserPeer({ privateKey }))
  await dialWithRetry(node, multiaddr(relay))
  const id = node.peerId.toString()
  const transport = await createLibp2pTransport(node, { isMember: () => true })
  const storage = await openIdbStorage({ peerId: id })
  return openPeer({ id, storage, transport, engine: { engine: 'wasm', wasm: wasm.href } })
}
// Kept by the bundler as an app's entry would be.
;(globalThis as unknown as { start: typeof start }).start = start
