/** Debian's Chromium, started the way this project's tests need it (README: "Chromium"). */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // WebRTC between tabs on loopback gathers no candidates without this.
  '--allow-loopback-in-peer-connection',
]
