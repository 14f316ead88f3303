import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { storageConformance } from '@flotilla/core/test-support/storage-conformance'
import { afterAll } from 'vitest'
import { openFsStorage } from '../src/index.js'

const root = mkdtempSync(join(tmpdir(), 'flotilla-fs-conf-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

// Small segments so that rolling, compaction by segment and multi-segment reads are exercised.
storageConformance('FsStorage', {
  open: (name) => openFsStorage({ dir: join(root, name), maxSegmentBytes: 16 * 1024 }),
})
