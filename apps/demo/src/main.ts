import './style.css'
import { type PeerMode, startDemo } from './start-demo.js'
import { mountApp } from './ui/app-view.js'

const mode: PeerMode = new URLSearchParams(location.search).get('mode') === 'profile' ? 'profile' : 'tab'
const root = document.getElementById('app')!
try {
  // The embed hook: startDemo({ embedder: yourModel }) plugs a real model in.
  const demo = await startDemo({
    mode,
    onApi: (api) => {
      window.flotilla = api
    },
  })
  mountApp(root, demo)
  void demo
    .api()
    .id()
    .then((id) => {
      document.title = `Flotilla · ${id.slice(-6)}`
    })
    .catch(() => {})
} catch (err) {
  window.flotillaError = (err as Error).message
  root.innerHTML = `<div class="card fatal"><h2>This tab could not start its peer</h2><pre></pre></div>`
  root.querySelector('pre')!.textContent = (err as Error).stack ?? String(err)
  throw err
}
