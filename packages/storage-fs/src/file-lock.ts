/// <reference path="./fs-native-extensions.d.ts" />
import { closeSync, ftruncateSync, openSync, readFileSync, writeSync } from 'node:fs'
import { StorageError } from '@flotilla/core'
import fsx from 'fs-native-extensions'
import type { FileLock } from './file-system.js'

/**
 * Takes an exclusive lock on an open file. On Linux it is an open-file-description lock
 * (F_OFD_SETLK), on macOS flock, on Windows LockFileEx: a second open of the file, in this process or
 * another, cannot take it, and the OS drops it with the file when the process dies. The file's
 * content (the holder's pid) is only for the error message; it is never trusted.
 */
export function lockFile(path: string): FileLock {
  const fd = openSync(path, 'a+')
  let held = false
  try {
    held = fsx.tryLock(fd)
  } catch (err) {
    closeSync(fd)
    throw err
  }
  if (!held) {
    closeSync(fd)
    const holder = readFileSync(path, 'utf8').trim()
    throw new StorageError(
      'ERR_LOCKED',
      `${path} is locked by another open store${holder ? ` (process ${holder} wrote it)` : ''}`,
    )
  }
  try {
    // For the error message of a later opener only; a+ appends, so cut the old pid first.
    ftruncateSync(fd, 0)
    writeSync(fd, `${process.pid}\n`)
  } catch {
    // The pid is informational.
  }
  return {
    async release() {
      closeSync(fd)
    },
  }
}
