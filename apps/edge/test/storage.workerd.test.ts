import { fileURLToPath } from 'node:url'
import { storageConformance } from '@flotilla/core/test-support/storage-conformance'
import { afterAll } from 'vitest'
import { openSocket } from '../../../scripts/runtimes/processes.js'
import { remoteStorage } from '../../../scripts/runtimes/remote-storage.js'
import { bundleWorker, startWorkerd } from '../../../scripts/runtimes/workerd.js'

// The Durable Object storage adapter, inside workerd: each store is one SQLite-backed Durable
// Object; reopening a name reaches the same object and must find everything saved.
const script = await bundleWorker(fileURLToPath(new URL('./fixtures/storage-worker.ts', import.meta.url)))
const workerd = await startWorkerd(script, { STORE: 'StorageObject' })
const sockets: { close(): void }[] = []
afterAll(async () => {
  for (const s of sockets) s.close()
  await workerd.stop()
})

storageConformance('Durable Object storage in workerd', {
  async open(name) {
    const socket = await openSocket(`${workerd.url.replace(/^http/, 'ws')}/${name}`)
    sockets.push(socket)
    return remoteStorage(socket)
  },
})
