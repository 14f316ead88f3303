import { MemoryStorage } from '../src/index.js'
import { storageConformance } from '../test-support/storage-conformance.js'

const stores = new Map<string, MemoryStorage>()

storageConformance('MemoryStorage', {
  async open(name) {
    const existing = stores.get(name)
    if (existing) return existing.reopen()
    const created = new MemoryStorage()
    stores.set(name, created)
    return created
  },
})
