export * from './codec/index.js'
export * from './raft/messages.js'
export * from './storage/index.js'
export * from './transport/index.js'
