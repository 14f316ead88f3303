import { open, readFile, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { StorageError } from '@flotilla/core'

export const LOCK_FILE = 'LOCK'

/** One process per data directory: a LOCK file holding the owner's pid. */
export interface DirLock {
  release(): Promise<void>
}

/**
 * Takes the directory lock. A LOCK left by a process that no longer exists (killed with
 * SIGKILL, machine crashed) is stale and taken over; a live owner — this process included —
 * makes the call fail with ERR_LOCKED. The pid check cannot see a pid reused by an unrelated
 * process; then the caller gets ERR_LOCKED and must remove LOCK by hand.
 */
export async function acquireLock(dir: string): Promise<DirLock> {
  const path = join(dir, LOCK_FILE)
  const mine = `${process.pid}\n`
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await open(path, 'wx')
      try {
        await fh.writeFile(mine)
        await fh.sync()
      } finally {
        await fh.close()
      }
      return {
        async release() {
          // Only remove the lock if it is still ours.
          const now = await readFile(path, 'utf8').catch(() => '')
          if (now === mine) await unlink(path).catch(() => {})
        },
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    }
    const content = await readFile(path, 'utf8').catch(() => '')
    const owner = Number.parseInt(content, 10)
    if (Number.isInteger(owner) && owner > 0 && isAlive(owner))
      throw new StorageError('ERR_LOCKED', `${dir} is locked by process ${owner} (${path})`)
    // Stale or half-written lock: remove it unless someone replaced it meanwhile.
    const again = await readFile(path, 'utf8').catch(() => null)
    if (again === content) await unlink(path).catch(() => {})
  }
  throw new StorageError('ERR_LOCKED', `${dir}: another process took the lock ${path} first`)
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}
