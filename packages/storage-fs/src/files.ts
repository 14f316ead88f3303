import type { FileHandle } from 'node:fs/promises'
import { open, rename } from 'node:fs/promises'
import { StorageError } from '@flotilla/core'

/** Makes renames, creations and unlinks in `dir` durable. */
export async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r')
  try {
    await fh.sync()
  } finally {
    await fh.close()
  }
}

/** Writes all of `buf` at `position`, looping over short writes. */
export async function writeAll(fh: FileHandle, buf: Uint8Array, position: number): Promise<void> {
  let done = 0
  while (done < buf.length) {
    const { bytesWritten } = await fh.write(buf, done, buf.length - done, position + done)
    done += bytesWritten
  }
}

/** Reads exactly `length` bytes at `position`; fewer means the file is shorter than expected. */
export async function readExactly(
  fh: FileHandle,
  position: number,
  length: number,
  file: string,
): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length)
  let done = 0
  while (done < length) {
    const { bytesRead } = await fh.read(buf, done, length - done, position + done)
    if (bytesRead === 0)
      throw new StorageError(
        'ERR_CORRUPT',
        `${file}: expected ${length} bytes at offset ${position}, found ${done}`,
      )
    done += bytesRead
  }
  return buf
}

/** Replaces `path` atomically: write a temporary file, fsync it, rename it over, fsync the directory. */
export async function replaceFile(dir: string, path: string, bytes: Uint8Array): Promise<void> {
  const tmp = `${path}.tmp`
  const fh = await open(tmp, 'w')
  try {
    await writeAll(fh, bytes, 0)
    await fh.sync()
  } finally {
    await fh.close()
  }
  await rename(tmp, path)
  await syncDir(dir)
}

/** Maps a Node file-system error to a StorageError with a stable code. */
export function storageError(err: unknown, what: string): StorageError {
  if (err instanceof StorageError) return err
  const code = (err as NodeJS.ErrnoException)?.code
  const message = `${what}: ${(err as Error)?.message ?? String(err)}`
  if (code === 'ENOSPC' || code === 'EDQUOT') return new StorageError('ERR_QUOTA', message)
  return new StorageError('ERR_UNAVAILABLE', message)
}
