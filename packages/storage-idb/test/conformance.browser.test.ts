import { storageConformance } from '@flotilla/core/test-support/storage-conformance'
import { openIdbStorage } from '../src/index.js'

storageConformance('IdbStorage (Chromium)', {
  open: (name) => openIdbStorage({ peerId: name }),
})
