import { playwright } from '@vitest/browser-playwright'
import { defaultClientConditions, defaultServerConditions } from 'vite'
import { defineConfig } from 'vitest/config'
import { divergenceReference } from './packages/core/test/state/divergence-reference.js'
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './scripts/chromium.js'

// Workspace packages resolve to their TypeScript sources here; consumers of the packed
// packages get dist/ (see README "Packages").
const SOURCE = '@flotilla/source'
// Child processes that tests spawn (tsx, node) resolve the same way; npm scripts get this from .npmrc.
// Tests that run code in Deno or workerd, against the built packages.
const RUNTIME_TESTS = ['**/*.deno.test.ts', '**/*.workerd.test.ts']
const inherited = process.env.NODE_OPTIONS ?? ''
const NODE_OPTIONS = inherited.includes(SOURCE) ? inherited : `${inherited} --conditions=${SOURCE}`.trim()

export default defineConfig({
  test: {
    projects: [
      {
        resolve: { conditions: [SOURCE, ...defaultServerConditions] },
        ssr: { resolve: { conditions: [SOURCE, ...defaultServerConditions] } },
        test: {
          name: 'node',
          env: { NODE_OPTIONS },
          include: ['packages/*/test/**/*.test.ts', 'apps/*/test/**/*.test.ts', 'scripts/test/**/*.test.ts'],
          exclude: ['**/*.browser.test.ts', ...RUNTIME_TESTS, '**/node_modules/**'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        resolve: { conditions: [SOURCE, ...defaultServerConditions] },
        ssr: { resolve: { conditions: [SOURCE, ...defaultServerConditions] } },
        test: {
          name: 'runtimes',
          env: { NODE_OPTIONS },
          include: RUNTIME_TESTS.map((glob) => `{packages,apps}/*/test/${glob}`),
          globalSetup: ['scripts/runtimes/build-dist.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        resolve: { conditions: [SOURCE, ...defaultClientConditions] },
        test: {
          name: 'browser',
          include: ['packages/*/test/**/*.browser.test.ts'],
          testTimeout: 60_000,
          browser: {
            enabled: true,
            headless: true,
            provider: playwright({
              launchOptions: { executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS },
            }),
            instances: [{ browser: 'chromium' }],
            // Node-side helpers a page calls through `commands` (vitest/browser).
            commands: { divergenceReference },
          },
        },
      },
    ],
  },
})
