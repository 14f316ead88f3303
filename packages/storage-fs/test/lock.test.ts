import { type ChildProcess, spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { openFsStorage } from '../src/index.js'

const root = mkdtempSync(join(tmpdir(), 'flotilla-fs-lock-'))
const children: ChildProcess[] = []
afterAll(() => {
  for (const c of children) c.kill('SIGKILL')
  rmSync(root, { recursive: true, force: true })
})
const holder = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'lock-holder.ts')

/** Starts a process that opens `dir`; resolves with it and its first line (`open` or `locked …`). */
function openInChild(dir: string): Promise<{ child: ChildProcess; line: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', holder, dir], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  children.push(child)
  return new Promise((resolve, reject) => {
    let out = ''
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString()
      if (out.includes('\n')) resolve({ child, line: out.split('\n')[0] })
    })
    child.on('exit', (code) => reject(new Error(`child exited (${code}) before opening: ${out}`)))
  })
}

const killed = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    child.on('exit', () => resolve())
    child.kill('SIGKILL')
  })

describe('FsStorage directory lock (an OS lock held by an open file)', () => {
  it('refuses a second opener in the same process until the first closes', async () => {
    const dir = join(root, 'a')
    const first = await openFsStorage({ dir })
    await expect(openFsStorage({ dir })).rejects.toMatchObject({ code: 'ERR_LOCKED' })
    await first.close()
    const second = await openFsStorage({ dir })
    await second.close()
  })

  it('refuses while another process holds the store, and opens once the OS released it at SIGKILL', async () => {
    const dir = join(root, 'b')
    const { child, line } = await openInChild(dir)
    expect(line).toBe('open')
    const err = await openFsStorage({ dir }).catch((e: unknown) => e)
    expect(err).toMatchObject({ code: 'ERR_LOCKED' })
    expect((err as Error).message).toContain(String(child.pid))
    await killed(child)
    // No stale-lock cleanup: the kill itself released the lock.
    const s = await openFsStorage({ dir })
    expect((await s.load()).hardState.vote).toBe(String(child.pid))
    await s.close()
  })

  it('lets exactly one of two processes racing to open in', async () => {
    const dir = join(root, 'c')
    mkdirSync(dir)
    const lines = (await Promise.all([openInChild(dir), openInChild(dir)])).map((r) => r.line).sort()
    expect(lines).toEqual(['locked ERR_LOCKED', 'open'])
  })

  it('never trusts the pid written in LOCK: its own, pid 1 or garbage', async () => {
    for (const content of [`${process.pid}\n`, '1\n', 'not a pid']) {
      const dir = join(root, `d-${content.trim().replace(/\W/g, '')}`)
      mkdirSync(dir)
      writeFileSync(join(dir, 'LOCK'), content)
      const s = await openFsStorage({ dir })
      expect(readFileSync(join(dir, 'LOCK'), 'utf8')).toBe(`${process.pid}\n`)
      await s.close()
    }
  })
})
