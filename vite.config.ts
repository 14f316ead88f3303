import { playwright } from '@vitest/browser-playwright'
import { defineConfig } from 'vitest/config'
import { divergenceReference } from './packages/core/test/state/divergence-reference.js'
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './scripts/chromium.js'

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'node',
          include: ['packages/*/test/**/*.test.ts', 'apps/*/test/**/*.test.ts', 'scripts/test/**/*.test.ts'],
          exclude: ['**/*.browser.test.ts', '**/node_modules/**'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
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
