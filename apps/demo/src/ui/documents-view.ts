import type { Consistency } from '@flotilla/core'
import type { DemoApi, SearchAnswer } from '../api.js'
import { $, esc, formatMs, peerColour, shortId } from './dom.js'

export const CONSISTENCY_CHOICES: { label: string; value: Consistency }[] = [
  { label: 'linearizable (asks the leader)', value: 'linearizable' },
  { label: 'lease (leader only)', value: 'lease' },
  { label: 'at most 500 ms stale', value: { maxStalenessMs: 500 } },
  { label: 'at most 5 s stale', value: { maxStalenessMs: 5000 } },
  { label: 'local (whatever is applied)', value: 'local' },
]

const EXAMPLES = ['ferry to Bergen', 'jazz in the harbour hall', 'Raft survives a closed tab', 'lentil curry']

export const documentsHtml = `
  <form id="add-form" class="row">
    <input id="add-text" name="text" autocomplete="off" placeholder="Write a short document, e.g. “Ferry to Bergen carries bicycles”" required />
    <button type="submit" class="primary">Add</button>
  </form>
  <form id="search-form" class="row">
    <input id="search-text" name="q" autocomplete="off" placeholder="Search, e.g. “sea shanties in the harbour”" required />
    <select id="consistency" aria-label="consistency">
      ${CONSISTENCY_CHOICES.map((c, i) => `<option value="${i}">${esc(c.label)}</option>`).join('')}
    </select>
    <button type="submit">Search</button>
  </form>
  <div class="examples">Try:
    ${EXAMPLES.map((q) => `<button type="button" class="example">${esc(q)}</button>`).join('')}
  </div>
  <div id="answer" class="answer"></div>
  <ol id="hits" class="hits"></ol>`

function renderAnswer(r: SearchAnswer): string {
  return `<span class="chip"><span class="dot" style="background:${peerColour(r.peer)}"></span>answered by ${esc(shortId(r.peer))}</span>
    <span class="chip">index ${r.index}</span>
    <span class="chip">${esc(r.consistency)}</span>
    <span class="chip ${r.stalenessMs === null ? 'warn' : ''}">stale by at most ${esc(formatMs(r.stalenessMs))}</span>`
}

function renderHits(r: SearchAnswer): string {
  return r.hits
    .map((h) => {
      const score = Math.max(0, 1 - h.distance)
      return `<li><div class="bar" style="width:${(score * 100).toFixed(0)}%"></div>
        <span class="hit-text">${esc(h.text)}</span><span class="hit-score">${score.toFixed(2)}</span></li>`
    })
    .join('')
}

/** Wires the add and search forms to the API. */
export function wireDocuments(
  root: HTMLElement,
  api: () => DemoApi,
  say: (text: string, bad?: boolean) => void,
): void {
  const addForm = $<HTMLFormElement>(root, '#add-form')
  const addText = $<HTMLInputElement>(root, '#add-text')
  addForm.addEventListener('submit', async (e) => {
    e.preventDefault()
    const text = addText.value.trim()
    if (!text) return
    try {
      const { id, index } = await api().add(text)
      say(`added ${id}: committed at index ${index}, applied here`)
      addText.value = ''
    } catch (err) {
      say(`add failed: ${(err as Error).message}`, true)
    }
  })
  const searchForm = $<HTMLFormElement>(root, '#search-form')
  for (const example of root.querySelectorAll<HTMLButtonElement>('button.example')) {
    example.addEventListener('click', () => {
      $<HTMLInputElement>(root, '#search-text').value = example.textContent ?? ''
      searchForm.requestSubmit()
    })
  }
  const answer = $(root, '#answer')
  const hits = $(root, '#hits')
  searchForm.addEventListener('submit', async (e) => {
    e.preventDefault()
    const text = $<HTMLInputElement>(root, '#search-text').value
    const choice = CONSISTENCY_CHOICES[Number($<HTMLSelectElement>(root, '#consistency').value)]
    try {
      const r = await api().search(text, { consistency: choice.value, k: 6 })
      answer.innerHTML = renderAnswer(r)
      answer.classList.remove('error')
      hits.innerHTML = renderHits(r)
    } catch (err) {
      const e = err as { code?: string; message: string }
      answer.innerHTML = `<span class="chip bad">${esc(e.code ?? 'error')}</span> ${esc(e.message)}`
      answer.classList.add('error')
      hits.innerHTML = ''
    }
  })
}
