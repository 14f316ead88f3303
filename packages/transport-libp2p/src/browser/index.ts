export * from '../index.js'
export { type BrowserPeerOptions, browserPeer } from './config.js'
export { indexedDbKeyStore } from './key-store.js'
