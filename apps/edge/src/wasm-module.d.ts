// workerd hands a .wasm module import over compiled (a WebAssembly.Module).
declare module '*.wasm' {
  const compiled: object
  export default compiled
}
