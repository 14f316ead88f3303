import { StorageError } from '@flotilla/core'
import type { FileLock } from './file-system.js'

// Deno cannot load fs-native-extensions (its Node-API has no libuv: the process dies with
// "undefined symbol: uv_get_osfhandle"), so under Deno the lock is Deno's own file lock.
declare const Deno: {
  pid: number
  openSync(path: string, options: { read: boolean; write: boolean; create: boolean }): DenoFile
  readTextFileSync(path: string): string
}
interface DenoFile {
  tryLockSync(exclusive: boolean): boolean
  truncateSync(length: number): void
  writeSync(bytes: Uint8Array): number
  close(): void
}

/**
 * The same contract as file-lock.ts: an exclusive lock held by an open file, dropped by the OS
 * when the process dies, ERR_LOCKED while another open holds it. Deno locks with flock(2), which
 * does not see the OFD locks a Node peer takes on Linux: do not open one directory from both.
 */
export function lockFile(path: string): FileLock {
  const file = Deno.openSync(path, { read: true, write: true, create: true })
  let held = false
  try {
    held = file.tryLockSync(true)
  } catch (err) {
    file.close()
    throw err
  }
  if (!held) {
    file.close()
    const holder = Deno.readTextFileSync(path).trim()
    throw new StorageError(
      'ERR_LOCKED',
      `${path} is locked by another open store${holder ? ` (process ${holder} wrote it)` : ''}`,
    )
  }
  try {
    file.truncateSync(0)
    file.writeSync(new TextEncoder().encode(`${Deno.pid}\n`))
  } catch {
    // The pid is informational.
  }
  return {
    async release() {
      file.close()
    },
  }
}
