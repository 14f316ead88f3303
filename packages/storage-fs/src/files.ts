import { StorageError } from '@flotilla/core'
import type { File } from './file-system.js'

/** Reads exactly `length` bytes at `position`; fewer means the file is shorter than expected. */
export async function readExactly(
  file: File,
  position: number,
  length: number,
  path: string,
): Promise<Buffer> {
  const buf = await file.read(position, length)
  if (buf.length < length)
    throw new StorageError(
      'ERR_CORRUPT',
      `${path}: expected ${length} bytes at offset ${position}, found ${buf.length}`,
    )
  return buf
}

/** Maps a file-system error to a StorageError with a stable code. */
export function storageError(err: unknown, what: string): StorageError {
  if (err instanceof StorageError) return err
  const code = (err as NodeJS.ErrnoException)?.code
  const message = `${what}: ${(err as Error)?.message ?? String(err)}`
  if (code === 'ENOSPC' || code === 'EDQUOT') return new StorageError('ERR_QUOTA', message)
  return new StorageError('ERR_UNAVAILABLE', message)
}
