import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { entry, storageConformance } from '@flotilla/core/test-support/storage-conformance'
import { afterAll, describe, expect, it } from 'vitest'
import { DENO, openSocket, startProgram } from '../../../scripts/runtimes/processes.js'
import { remoteStorage } from '../../../scripts/runtimes/remote-storage.js'
import { DENO_FS_PERMISSIONS } from '../src/permissions.js'

// storage-fs itself, running in Deno through its Node compatibility layer (node:fs/promises,
// FileHandle.datasync), with no Deno-specific code.
const STRACE = '/usr/bin/strace'
const root = mkdtempSync(join(tmpdir(), 'flotilla-deno-conf-'))
const server = await startProgram([
  ...DENO,
  'run',
  '--quiet',
  '--no-lock',
  '--allow-net=127.0.0.1',
  ...DENO_FS_PERMISSIONS,
  fileURLToPath(new URL('./fixtures/storage-server.ts', import.meta.url)),
  root,
])
const sockets: { close(): void }[] = []
afterAll(async () => {
  for (const s of sockets) s.close()
  await server.stop()
  rmSync(root, { recursive: true, force: true })
})

storageConformance('FsStorage in Deno', {
  async open(name) {
    const socket = await openSocket(`ws://127.0.0.1:${server.hello.port}/${name}`)
    sockets.push(socket)
    return remoteStorage(socket)
  },
})

describe('storage-fs in Deno', () => {
  // Deno takes the lock through Deno.FsFile (package.json "imports": #file-lock, deno condition).
  it('refuses a second open of one directory with ERR_LOCKED while the first holds it', async () => {
    const first = remoteStorage(await openSocket(`ws://127.0.0.1:${server.hello.port}/locked`))
    await first.load()
    const second = remoteStorage(await openSocket(`ws://127.0.0.1:${server.hello.port}/locked`))
    await expect(second.load()).rejects.toMatchObject({ code: 'ERR_LOCKED' })
    await first.close()
    const third = remoteStorage(await openSocket(`ws://127.0.0.1:${server.hello.port}/locked`))
    await expect(third.load()).resolves.toMatchObject({ lastIndex: 0 })
    await third.close()
  })

  // "Durable means synced": Deno's node:fs must reach fdatasync(2), not just write(2).
  it.runIf(existsSync(STRACE))('issues one fdatasync per acknowledged save, seen by strace', async () => {
    const trace = join(root, 'strace.txt')
    const traced = await startProgram([
      STRACE,
      '-f',
      '-qq',
      '-e',
      'trace=fdatasync',
      '-o',
      trace,
      ...DENO,
      'run',
      '--quiet',
      '--no-lock',
      '--allow-net=127.0.0.1',
      ...DENO_FS_PERMISSIONS,
      fileURLToPath(new URL('./fixtures/storage-server.ts', import.meta.url)),
      root,
    ])
    try {
      const socket = await openSocket(`ws://127.0.0.1:${traced.hello.port}/synced`)
      sockets.push(socket)
      const storage = remoteStorage(socket)
      await storage.load()
      const before = countSyncs(trace)
      for (let i = 1; i <= 5; i++) await storage.save({ entries: [entry(i, 1)] })
      expect(countSyncs(trace) - before).toBeGreaterThanOrEqual(5)
      await storage.close()
    } finally {
      await traced.stop()
    }
  })
})

function countSyncs(file: string): number {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => /fdatasync\(\d+\)\s+= 0/.test(line) || /fdatasync\(\d+ <unfinished/.test(line)).length
}
