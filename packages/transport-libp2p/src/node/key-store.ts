import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import type { KeyStore } from '../identity.js'

/** Keeps the private key in `path` (mode 0600), replaced atomically. */
export function fileKeyStore(path: string): KeyStore {
  return {
    async load() {
      try {
        return new Uint8Array(await readFile(path))
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
        throw err
      }
    },
    async save(key) {
      await mkdir(dirname(path), { recursive: true })
      const tmp = `${path}.tmp`
      await writeFile(tmp, key, { mode: 0o600 })
      await rename(tmp, path)
    },
  }
}
