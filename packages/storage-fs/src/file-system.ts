/// <reference path="./fs-native-extensions.d.ts" />
import { closeSync, ftruncateSync, openSync, readFileSync, writeSync } from 'node:fs'
import type { FileHandle } from 'node:fs/promises'
import { mkdir, open, readdir, readFile, rename, unlink } from 'node:fs/promises'
import { StorageError } from '@flotilla/core'
import fsx from 'fs-native-extensions'

/**
 * The file operations storage-fs performs, and nothing else. The store takes one as an option so
 * that the crash-model test can run it over a recorder that stops before any operation and shows
 * what a kill -9 or a power loss would leave (test/crash/model-fs.ts); production uses `nodeFileSystem`.
 */
export interface FileSystem {
  /** Creates `path` and missing parents; resolves true if `path` itself was created. */
  mkdir(path: string): Promise<boolean>
  readdir(path: string): Promise<string[]>
  /** The whole file; rejects with an error whose `code` is 'ENOENT' when it is missing. */
  readFile(path: string): Promise<Buffer>
  open(path: string, mode: OpenMode): Promise<File>
  rename(from: string, to: string): Promise<void>
  unlink(path: string): Promise<void>
  /** fsync of a directory: makes the creations, renames and unlinks in it durable. */
  syncDir(path: string): Promise<void>
  /**
   * An exclusive advisory lock on `path` (created if missing), held by an open file so the OS
   * releases it when the process dies; rejects with ERR_LOCKED while anyone else holds it.
   */
  lock(path: string): Promise<FileLock>
}

/** 'read' an existing file; 'update' (read and write) an existing one; 'create' a new one (fails if it exists); 'replace' creates or empties. */
export type OpenMode = 'read' | 'update' | 'create' | 'replace'

export interface File {
  /** Writes all of `bytes` at `position`. */
  write(bytes: Uint8Array, position: number): Promise<void>
  /** Up to `length` bytes at `position` (fewer at the end of the file). */
  read(position: number, length: number): Promise<Buffer>
  size(): Promise<number>
  truncate(length: number): Promise<void>
  datasync(): Promise<void>
  sync(): Promise<void>
  close(): Promise<void>
}

export interface FileLock {
  release(): Promise<void>
}

const FLAGS: Record<OpenMode, string> = { read: 'r', update: 'r+', create: 'wx+', replace: 'w' }

class NodeFile implements File {
  constructor(private readonly fh: FileHandle) {}

  async write(bytes: Uint8Array, position: number): Promise<void> {
    let done = 0
    while (done < bytes.length) {
      const { bytesWritten } = await this.fh.write(bytes, done, bytes.length - done, position + done)
      done += bytesWritten
    }
  }

  async read(position: number, length: number): Promise<Buffer> {
    const buf = Buffer.allocUnsafe(length)
    let done = 0
    while (done < length) {
      const { bytesRead } = await this.fh.read(buf, done, length - done, position + done)
      if (bytesRead === 0) break
      done += bytesRead
    }
    return done === length ? buf : buf.subarray(0, done)
  }

  async size(): Promise<number> {
    return (await this.fh.stat()).size
  }

  truncate(length: number): Promise<void> {
    return this.fh.truncate(length)
  }

  datasync(): Promise<void> {
    return this.fh.datasync()
  }

  sync(): Promise<void> {
    return this.fh.sync()
  }

  close(): Promise<void> {
    return this.fh.close()
  }
}

/** The real file system (node:fs), with locks from fs-native-extensions (OFD/flock locks, prebuilt). */
export const nodeFileSystem: FileSystem = {
  async mkdir(path) {
    return (await mkdir(path, { recursive: true })) !== undefined
  },
  readdir: (path) => readdir(path),
  readFile: (path) => readFile(path),
  async open(path, mode) {
    return new NodeFile(await open(path, FLAGS[mode]))
  },
  rename: (from, to) => rename(from, to),
  unlink: (path) => unlink(path),
  async syncDir(path) {
    const fh = await open(path, 'r')
    try {
      await fh.sync()
    } finally {
      await fh.close()
    }
  },
  async lock(path) {
    return lockFile(path)
  },
}

/**
 * Takes an exclusive lock on an open file. On Linux it is an open-file-description lock
 * (F_OFD_SETLK), on macOS flock, on Windows LockFileEx: a second open of the file, in this process or
 * another, cannot take it, and the OS drops it with the file when the process dies. The file's
 * content (the holder's pid) is only for the error message; it is never trusted.
 */
function lockFile(path: string): FileLock {
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
