import { type DemoApi, localApi } from './api.js'
import { type Embedder, hashedNgramEmbedder } from './embedder.js'
import { EventLog } from './event-log.js'
import { rendezvous } from './peer/rendezvous.js'
import { startTabPeer, type TabPeer } from './peer/tab-peer.js'
import { channelApi, serveOverChannel } from './profile-channel.js'

export type PeerMode = 'tab' | 'profile'

export interface DemoOptions {
  /** `tab`: every tab is its own peer (the demo's default); `profile`: tabs share one peer. */
  mode?: PeerMode
  /** The embed hook: plug a real model in here. Every peer of a group must use the same. */
  embedder?: Embedder
  /** Called whenever the API behind the page changes (a tab takes the profile's peer over). */
  onApi?: (api: DemoApi) => void
}

export interface Demo {
  api(): DemoApi
  log: EventLog
  embedder: Embedder
  mode: PeerMode
}

const TAB_KEY = 'flotilla-demo-tab'
/** How long a profile tab keeps retrying a call that found no tab holding the peer. */
const HANDOVER_MS = 30_000

/**
 * The API the page uses, whichever tab runs the peer: each call goes to the current API, and a
 * call that found no holder (the peer is between tabs) is retried, here if this tab took it.
 */
function switchable(current: () => DemoApi): DemoApi {
  const methods = Object.keys(current()) as (keyof DemoApi)[]
  const api = {} as Record<string, unknown>
  for (const method of methods) {
    if (method === 'hostsPeer') {
      api[method] = () => current().hostsPeer()
      continue
    }
    api[method] = async (...args: unknown[]) => {
      const end = performance.now() + HANDOVER_MS
      for (;;) {
        try {
          return await (current()[method] as (...a: unknown[]) => Promise<unknown>)(...args)
        } catch (err) {
          if ((err as { code?: string }).code !== 'ERR_NO_HOLDER' || performance.now() > end) throw err
        }
      }
    }
  }
  return api as unknown as DemoApi
}

/** Tab mode: one peer per tab, named in sessionStorage so that a reload reopens the same peer. */
async function startPerTab(options: Required<Omit<DemoOptions, 'onApi'>>, log: EventLog): Promise<TabPeer> {
  const config = await rendezvous.config()
  for (let attempt = 0; ; attempt++) {
    let name = sessionStorage.getItem(TAB_KEY)
    if (!name) {
      name = `tab-${crypto.randomUUID()}`
      sessionStorage.setItem(TAB_KEY, name)
    }
    try {
      return await startTabPeer({ config, name, embedder: options.embedder, log })
    } catch (err) {
      // A duplicated tab copies sessionStorage: the peer is taken, so this tab becomes a new one.
      if ((err as { code?: string }).code !== 'ERR_LOCKED' || attempt > 2) throw err
      sessionStorage.removeItem(TAB_KEY)
    }
  }
}

/**
 * Starts the demo in this tab. In profile mode the tab first uses the profile's peer through
 * the tab that holds it, and takes the peer over (the storage's Web Lock) when that tab closes.
 */
export async function startDemo(options: DemoOptions = {}): Promise<Demo> {
  const mode = options.mode ?? 'tab'
  const embedder = options.embedder ?? hashedNgramEmbedder()
  const log = new EventLog()
  let current: DemoApi | undefined
  let facade: DemoApi | undefined
  const use = (api: DemoApi) => {
    current = api
    facade ??= switchable(() => current as DemoApi)
    options.onApi?.(facade)
  }
  const host = (tab: TabPeer) => {
    const api = localApi(tab, embedder, log)
    use(api)
    addEventListener('pagehide', () => void tab.close())
    // When the browser says the network is gone, the tab stops its Raft traffic too (WebRTC
    // between tabs on one machine would otherwise carry on).
    addEventListener('offline', () => void api.setOffline(true))
    addEventListener('online', () => void api.setOffline(false))
    if (!navigator.onLine) void api.setOffline(true)
    return api
  }

  if (mode === 'tab') {
    host(await startPerTab({ mode, embedder }, log))
  } else {
    const client = channelApi()
    use(client)
    log.add('start', 'using the peer of another tab of this profile until it closes')
    void rendezvous
      .config()
      .then((config) => startTabPeer({ config, name: 'profile', embedder, log, waitForLock: true }))
      .then((tab) => {
        client.close()
        log.add('start', 'this tab now holds the profile’s peer')
        serveOverChannel(host(tab))
      })
      .catch((err) => log.add('error', `could not take the profile’s peer over: ${(err as Error).message}`))
  }
  return { api: () => facade as DemoApi, log, embedder, mode }
}
