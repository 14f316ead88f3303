export { MemoryNetwork, MemoryTransport } from './memory-transport.js'
export type { PeerEvent, Transport } from './transport.js'
