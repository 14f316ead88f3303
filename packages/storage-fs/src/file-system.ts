import type { FileHandle } from 'node:fs/promises'
import { mkdir, open, readdir, readFile, rename, unlink } from 'node:fs/promises'
// Node: fs-native-extensions; Deno (which cannot load that addon): Deno.FsFile locks. See package.json "imports".
import { lockFile } from '#file-lock'

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
