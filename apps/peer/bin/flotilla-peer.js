#!/usr/bin/env node
// The sources are TypeScript (as in every workspace package); tsx loads them.
import { register } from 'tsx/esm/api'

register()
await import('../src/cli.ts')
