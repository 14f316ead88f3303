import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'

/** Where a peer keeps its private key: a file in Node, IndexedDB in browsers, or your own. */
export interface KeyStore {
  load(): Promise<Uint8Array | undefined>
  save(key: Uint8Array): Promise<void>
}

/**
 * The peer's Ed25519 identity: loaded from `store`, or generated and saved on first use, so a
 * peer keeps its PeerId (its Raft id) across restarts.
 */
export async function loadOrCreateIdentity(store: KeyStore): Promise<PrivateKey> {
  const saved = await store.load()
  if (saved) return privateKeyFromProtobuf(saved)
  const key = await generateKeyPair('Ed25519')
  await store.save(privateKeyToProtobuf(key))
  return key
}

/** A store that lives as long as the process; for tests. */
export function memoryKeyStore(): KeyStore {
  let key: Uint8Array | undefined
  return {
    load: async () => key,
    save: async (k) => {
      key = k
    },
  }
}
