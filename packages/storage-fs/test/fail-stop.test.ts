import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { StorageError } from '@flotilla/core'
import { entries } from '@flotilla/core/test-support/storage-conformance'
import { afterAll, describe, expect, it } from 'vitest'
import { type File, type FileSystem, nodeFileSystem, openFsStorage } from '../src/index.js'
import { conf } from './crash/model.js'

const root = mkdtempSync(join(tmpdir(), 'flotilla-fs-failstop-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

/** node:fs whose next fdatasync fails with EIO once `failNext` is set, as a dying disk's would. */
function failingSyncs(): FileSystem & { failNext: boolean } {
  const fs = {
    ...nodeFileSystem,
    failNext: false,
    async open(path: string, mode: Parameters<FileSystem['open']>[1]): Promise<File> {
      const file = await nodeFileSystem.open(path, mode)
      return {
        write: (b, p) => file.write(b, p),
        read: (p, l) => file.read(p, l),
        size: () => file.size(),
        truncate: (l) => file.truncate(l),
        sync: () => file.sync(),
        close: () => file.close(),
        async datasync() {
          if (fs.failNext) throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' })
          return file.datasync()
        },
      }
    },
  }
  return fs
}

describe('FsStorage fail-stop (finding 8)', () => {
  it('refuses every call with ERR_FATAL after a failed fdatasync and reports it once', async () => {
    const fs = failingSyncs()
    const fatal: StorageError[] = []
    const s = await openFsStorage({ dir: join(root, 'a'), fs, onFatal: (e) => fatal.push(e) })
    await s.save({ entries: entries(1, 4, 1) })
    await s.writeSnapshot({ index: 2, term: 1, conf }, [new Uint8Array(4)])
    fs.failNext = true
    const err = await s.save({ entries: entries(4, 6, 1) }).catch((e: unknown) => e)
    expect(err).toMatchObject({ code: 'ERR_FATAL' })
    expect((err as Error).message).toContain('EIO')
    fs.failNext = false
    // The disk answers again, but the pages whose writeback failed may be gone: no retry, no reads.
    await expect(s.save({ entries: entries(4, 6, 1) })).rejects.toMatchObject({ code: 'ERR_FATAL' })
    await expect(s.load()).rejects.toMatchObject({ code: 'ERR_FATAL' })
    await expect(s.entries(1, 2)).rejects.toMatchObject({ code: 'ERR_FATAL' })
    await expect(s.term(1)).rejects.toMatchObject({ code: 'ERR_FATAL' })
    await expect(s.readSnapshot()).rejects.toMatchObject({ code: 'ERR_FATAL' })
    await expect(s.compact(2)).rejects.toMatchObject({ code: 'ERR_FATAL' })
    await expect(s.writeSnapshot({ index: 3, term: 1, conf }, [])).rejects.toMatchObject({
      code: 'ERR_FATAL',
    })
    expect(fatal.length).toBe(1)
    expect(fatal[0].code).toBe('ERR_FATAL')
    await s.close()
  })

  it('checks a snapshot whole before it hands out its first chunk', async () => {
    const dir = join(root, 'b')
    const s = await openFsStorage({ dir })
    // Several read chunks; the damage is in the last one.
    await s.writeSnapshot({ index: 1, term: 1, conf }, [new Uint8Array(1_000_000).fill(3)])
    const file = join(dir, 'snapshot')
    const bytes = readFileSync(file)
    bytes[bytes.length - 100] ^= 1
    writeFileSync(file, bytes)
    const snap = await s.readSnapshot()
    let handedOut = 0
    const read = async () => {
      for await (const _ of snap!.chunks()) handedOut++
    }
    await expect(read()).rejects.toMatchObject({ code: 'ERR_CORRUPT' })
    expect(handedOut).toBe(0)
    await s.close()
  })
})
