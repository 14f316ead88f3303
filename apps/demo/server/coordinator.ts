import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'

/** What every tab needs to reach the group: served as /flotilla/config.json. */
export interface DemoConfig {
  /** The relay's WebSocket multiaddr, ending in /p2p/<relay id>. */
  relay: string
  /** The Node witness's PeerId (the relay itself in `npm start`). */
  witness: string
  /** Node peers (preferred as leaders over tabs) and where tabs dial them. */
  nodeAddrs: Record<string, string[]>
  /** Loopback development: no STUN, and libp2p may dial ws:// and private addresses. */
  local: boolean
}

interface CoordinatorState {
  /** The tab that founded the group, and whether it finished (the witness joined). */
  founder: string | null
  founded: boolean
  claimedAt: number
}

/** A founder that has not finished within this long gives its claim up. */
const CLAIM_MS = 30_000
/** A joiner asks every second while it waits; one silent for this long has gone. */
export const WAIT_MS = 5_000
const MAX_WAITING = 64

/**
 * The demo's rendezvous, served next to the app. Tabs learn the relay from it, and it settles
 * what Raft cannot: which tab founds the group (with the witness) when none exists, and which
 * tabs wait to be added. Member tabs refuse connections from non-members (see the README, "Who
 * may connect"), so a joiner cannot ask a member itself: it says here that it waits, and the
 * leader tab reads the list and adds it. Everything else (leaving, electing) happens between
 * the peers.
 */
export function createCoordinator(config: DemoConfig, stateFile?: string) {
  let state: CoordinatorState = { founder: null, founded: false, claimedAt: 0 }
  if (stateFile && existsSync(stateFile)) {
    const { founder, founded, claimedAt } = { ...state, ...JSON.parse(readFileSync(stateFile, 'utf8')) }
    state = { founder, founded, claimedAt }
  }
  /** Tabs waiting to be added and when each last asked (not saved: a joiner keeps asking). */
  const waiting = new Map<string, number>()
  const save = () => {
    if (!stateFile) return
    writeFileSync(`${stateFile}.tmp`, JSON.stringify(state))
    renameSync(`${stateFile}.tmp`, stateFile)
  }

  /** `fresh`: the tab has empty storage, so it may found the group if none exists. */
  function hello(id: string, fresh: boolean): { founder: boolean } {
    const now = Date.now()
    const expired = !state.founded && now - state.claimedAt > CLAIM_MS
    if (fresh && (state.founder === null || (expired && state.founder !== id))) {
      state.founder = id
      state.founded = false
      state.claimedAt = now
      save()
    }
    return { founder: state.founder === id && !state.founded }
  }

  /** A tab with empty storage waits to be added (it asks again every second until it is). */
  function wait(id: string): void {
    waiting.set(id, Date.now()) // an id asking again keeps its place
    for (const old of waiting.keys()) {
      if (waiting.size <= MAX_WAITING) break
      waiting.delete(old)
    }
  }

  /** The tabs that asked within WAIT_MS, longest waiting first: the leader adds them. */
  function joiners(): string[] {
    const now = Date.now()
    for (const [id, at] of waiting) if (now - at > WAIT_MS) waiting.delete(id)
    return [...waiting.keys()]
  }

  function founded(id: string): void {
    if (state.founder === id) {
      state.founded = true
      save()
    }
  }

  const send = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' })
    res.end(JSON.stringify(body))
  }
  const readJson = async (req: IncomingMessage): Promise<{ id?: unknown; fresh?: unknown }> => {
    let body = ''
    for await (const chunk of req) {
      body += chunk
      if (body.length > 4096) throw new Error('body too large')
    }
    return JSON.parse(body)
  }

  /** Connect-style middleware for Vite's dev and preview servers. */
  async function middleware(req: IncomingMessage, res: ServerResponse, next: () => void): Promise<void> {
    const path = (req.url ?? '').split('?')[0]
    if (!path.startsWith('/flotilla/')) return next()
    try {
      if (req.method === 'GET' && path === '/flotilla/config.json') return send(res, 200, config)
      if (req.method === 'GET' && path === '/flotilla/joiners') return send(res, 200, { ids: joiners() })
      if (
        req.method === 'POST' &&
        ['/flotilla/hello', '/flotilla/founded', '/flotilla/wait'].includes(path)
      ) {
        const { id, fresh } = await readJson(req)
        if (typeof id !== 'string' || id.length === 0 || id.length > 128)
          return send(res, 400, { code: 'ERR_INVALID', field: 'id' })
        if (path === '/flotilla/founded') founded(id)
        else if (path === '/flotilla/wait') wait(id)
        else return send(res, 200, hello(id, fresh === true))
        return send(res, 200, {})
      }
      send(res, 404, { code: 'ERR_NOT_FOUND' })
    } catch (err) {
      send(res, 400, { code: 'ERR_INVALID', message: (err as Error).message })
    }
  }
  return { middleware, hello, founded, wait, joiners }
}
