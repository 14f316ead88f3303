// The transport bench lives with its package (it needs DOM and Node types together); this file
// only dispatches to it. The path is computed so that the scripts project does not compile it.
const target = new URL('../packages/transport-libp2p/bench/transport.ts', import.meta.url).href
await import(target)
