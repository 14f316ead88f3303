import type { DemoApi } from './api.js'

declare global {
  interface Window {
    /** The page's peer API, for the end-to-end tests and the curious (see api.ts). */
    flotilla?: DemoApi
    /** Why the page could not start its peer. */
    flotillaError?: string
  }
}
