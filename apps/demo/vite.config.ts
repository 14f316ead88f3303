import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'
import { flotillaRendezvous } from './server/vite-plugin.js'

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  plugins: [flotillaRendezvous()],
  build: { target: 'es2022', outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 1024 },
  server: { host: '127.0.0.1' },
  preview: { host: '127.0.0.1' },
})
