declare module 'fs-native-extensions' {
  /** Takes an exclusive (or shared) lock on the whole file; false if someone else holds it. */
  export function tryLock(fd: number, options?: { shared?: boolean }): boolean
  const fsx: { tryLock: typeof tryLock }
  export default fsx
}
