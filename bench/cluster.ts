// The cluster bench lives with the peer program (it needs the libp2p Node types); this file only
// dispatches to it. The path is computed so that the scripts project does not compile it.
const target = new URL('../apps/peer/bench/cluster.ts', import.meta.url).href
await import(target)
