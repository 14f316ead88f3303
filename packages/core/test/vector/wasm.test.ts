import { createIndex } from '../../src/vector/index.js'
import { describeIndexSuite } from './index-suite.js'

describeIndexSuite('wasm', (options) => createIndex({ ...options, engine: 'wasm' }))
