import type { Demo } from '../start-demo.js'
import { documentsHtml, wireDocuments } from './documents-view.js'
import { $, el, esc, peerColour, shortId } from './dom.js'
import { renderGroup } from './group-view.js'

const REFRESH_MS = 300

const LOGO = `<svg viewBox="0 0 40 40" class="logo" aria-hidden="true">
  <path d="M6 26h28l-4 7H10z" fill="#ffd166"/><path d="M19 5v19H8z" fill="#4ecdc4"/><path d="M21 9v15h10z" fill="#f4f1de"/>
</svg>`

const layout = (demo: Demo) => `
  <header>
    <div class="brand">${LOGO}<div><h1>Flotilla</h1><p>Every tab is a peer of one replicated vector store.</p></div></div>
    <div id="me" class="me-chip">starting…</div>
  </header>
  <p class="intro">Open this page in two or more tabs: they find each other through the relay, connect over WebRTC and
  form a Raft group with the Node witness. Add a document in one tab, search for it in another.</p>
  <main>
    <section class="card group"><h2>The group</h2><div id="group" class="placeholder">joining…</div></section>
    <section class="card docs"><h2>Documents <span id="count" class="muted"></span></h2>
      ${documentsHtml}
      <p class="note">Embeddings: <b>${esc(demo.embedder.name)}</b>. ${esc(demo.embedder.description)}</p>
    </section>
    <section class="card controls"><h2>Controls</h2>
      <div class="row">
        <select id="transfer-to" aria-label="transfer to"><option value="">most caught-up voter</option></select>
        <button id="transfer">Transfer leadership</button>
      </div>
      <div class="row"><button id="offline" class="toggle">Take this tab offline</button>
        <span class="muted">${demo.mode === 'tab' ? 'one peer per tab' : 'one peer per profile'}</span></div>
      <p id="notice" class="notice"></p>
    </section>
    <section class="card log"><h2>Event log</h2><ol id="log"></ol></section>
  </main>`

/** Mounts the page and refreshes it from the API a few times a second. */
export function mountApp(root: HTMLElement, demo: Demo): void {
  root.innerHTML = layout(demo)
  const notice = $(root, '#notice')
  const say = (text: string, bad = false) => {
    notice.textContent = text
    notice.classList.toggle('bad', bad)
  }
  wireDocuments(root, demo.api, say)

  const offlineButton = $<HTMLButtonElement>(root, '#offline')
  offlineButton.addEventListener('click', async () => {
    const api = demo.api()
    await api.setOffline(!(await api.isOffline()))
  })
  $(root, '#transfer').addEventListener('click', async () => {
    const to = $<HTMLSelectElement>(root, '#transfer-to').value || undefined
    try {
      await demo.api().transferLeadership(to)
      say(`leadership transferred${to ? ` to ${shortId(to)}` : ''}`)
    } catch (err) {
      say(`transfer failed: ${(err as Error).message}`, true)
    }
  })

  let countAt = 0
  const refresh = async () => {
    const api = demo.api()
    const [self, leaderView, events, offline] = await Promise.all([
      api.status(),
      api.leaderView(),
      api.events(),
      api.isOffline(),
    ])
    $(root, '#me').innerHTML = `<span class="dot" style="background:${peerColour(self.id)}"></span>
      you are <b>${esc(shortId(self.id))}</b> · ${esc(self.raftRole)} · term ${self.term}
      ${offline ? '<span class="chip bad">offline</span>' : '<span class="chip good">online</span>'}`
    const group = $(root, '#group')
    group.classList.remove('placeholder')
    group.innerHTML = renderGroup({ self, leaderView })
    offlineButton.textContent = offline ? 'Bring this tab back online' : 'Take this tab offline'
    offlineButton.classList.toggle('on', offline)
    const select = $<HTMLSelectElement>(root, '#transfer-to')
    const voters = self.members.filter((m) => m.kind === 'voter' && m.id !== self.leader).map((m) => m.id)
    if (
      select.options.length !== voters.length + 1 ||
      voters.some((v, i) => select.options[i + 1].value !== v)
    ) {
      select.replaceChildren(el('option', { value: '' }, 'most caught-up voter'))
      for (const v of voters) select.append(el('option', { value: v }, esc(shortId(v))))
    }
    $(root, '#log').innerHTML = events
      .slice(-40)
      .reverse()
      .map(
        (e) =>
          `<li class="ev-${e.kind}"><time>${new Date(e.at).toLocaleTimeString()}</time><span class="kind">${e.kind}</span>${esc(e.text)}</li>`,
      )
      .join('')
    if (performance.now() - countAt > 2000) {
      countAt = performance.now()
      api
        .count('local')
        .then((c) => {
          $(root, '#count').textContent = `${c.count} in the collection`
        })
        .catch(() => {})
    }
  }
  const loop = async () => {
    try {
      await refresh()
    } catch {
      // the peer may be between tabs (profile mode): the next round tries again
    }
    setTimeout(loop, REFRESH_MS)
  }
  void loop()
}
