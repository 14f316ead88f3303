import './shims.js'

export * from '../index.js'
export { type NodePeerOptions, nodePeer, type RelayServerOptions } from './config.js'
export { fileKeyStore } from './key-store.js'
