// Globals that every target runtime has (browsers, workers, Node, Deno, edge), declared here so
// that core compiles with neither DOM nor Node types and cannot reach for anything else.
declare function queueMicrotask(callback: () => void): void
declare function structuredClone<T>(value: T): T
declare function setTimeout(callback: () => void, ms?: number): unknown
declare function clearTimeout(handle: unknown): void
declare function setInterval(callback: () => void, ms?: number): unknown
declare function clearInterval(handle: unknown): void
declare const performance: { now(): number }
declare class TextEncoder {
  encode(input?: string): Uint8Array
}
declare class TextDecoder {
  constructor(label?: string, options?: { fatal?: boolean })
  decode(input?: Uint8Array): string
}
declare const console: {
  log(...args: unknown[]): void
  warn(...args: unknown[]): void
  error(...args: unknown[]): void
}
