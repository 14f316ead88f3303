import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { openFsStorage } from '../src/index.js'

const root = mkdtempSync(join(tmpdir(), 'flotilla-fs-lock-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

describe('FsStorage directory lock', () => {
  it('refuses a second opener with ERR_LOCKED until the first closes', async () => {
    const dir = join(root, 'a')
    const first = await openFsStorage({ dir })
    const err = await openFsStorage({ dir }).catch((e: unknown) => e)
    expect(err).toMatchObject({ code: 'ERR_LOCKED' })
    expect((err as Error).message).toContain(String(process.pid))
    await first.close()
    expect(existsSync(join(dir, 'LOCK'))).toBe(false)
    const second = await openFsStorage({ dir })
    await second.close()
  })

  it('refuses a lock held by another live process', async () => {
    const dir = join(root, 'b')
    mkdirSync(dir)
    writeFileSync(join(dir, 'LOCK'), `${process.ppid}\n`)
    await expect(openFsStorage({ dir })).rejects.toMatchObject({ code: 'ERR_LOCKED' })
  })

  it('takes over a stale lock left by a process that no longer exists', async () => {
    const dir = join(root, 'c')
    mkdirSync(dir)
    // The pid of a process that has exited.
    const dead = spawnSync(process.execPath, [
      '-e',
      'process.stdout.write(String(process.pid))',
    ]).stdout.toString()
    writeFileSync(join(dir, 'LOCK'), `${dead}\n`)
    const s = await openFsStorage({ dir })
    await s.save({ hardState: { term: 1, vote: 'a', commit: 0 } })
    await s.close()
  })
})
