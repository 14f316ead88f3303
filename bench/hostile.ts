// The hostile-peer bench lives with the transport package (issue 15); this file only dispatches
// to it. The path is computed so that the scripts project does not compile it.
const target = new URL('../packages/transport-libp2p/bench/hostile.ts', import.meta.url).href
await import(target)
