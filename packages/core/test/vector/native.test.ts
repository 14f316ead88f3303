import { createIndex } from '../../src/vector/index.js'
import { describeIndexSuite } from './index-suite.js'

describeIndexSuite('native', (options) => createIndex({ ...options, engine: 'native' }))
