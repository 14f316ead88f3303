import type { Consistency, Hit, PeerMetrics, PeerStatus } from '@flotilla/core'
import type { GateStats } from '@flotilla/transport-libp2p/browser'
import type { Embedder } from './embedder.js'
import type { DemoEvent, EventLog } from './event-log.js'
import { COLLECTION, type TabPeer } from './peer/tab-peer.js'

/** How a read was served, as the page shows it. */
export interface Served {
  index: number
  peer: string
  consistency: string
  stalenessMs: number | null
}

export interface SearchAnswer extends Served {
  hits: (Hit & { text: string })[]
}

/** Errors cross page and channel boundaries as plain data with the peer's stable code. */
export interface DemoErrorData {
  code: string
  message: string
  stalenessMs?: number | null
  leader?: string
}

export class DemoError extends Error {
  readonly code: string
  readonly stalenessMs?: number | null
  readonly leader?: string

  constructor(data: DemoErrorData) {
    super(data.message)
    this.name = 'DemoError'
    this.code = data.code
    if (data.stalenessMs !== undefined) this.stalenessMs = data.stalenessMs
    if (data.leader !== undefined) this.leader = data.leader
  }
}

export function errorData(err: unknown): DemoErrorData {
  const e = err as { code?: unknown; message?: unknown; stalenessMs?: number | null; leader?: string }
  return {
    code: typeof e?.code === 'string' ? e.code : 'ERR_UNKNOWN',
    message: typeof e?.message === 'string' ? e.message : String(err),
    ...(e?.stalenessMs !== undefined ? { stalenessMs: e.stalenessMs } : {}),
    ...(e?.leader ? { leader: e.leader } : {}),
  }
}

/**
 * What the page (and the end-to-end tests, through `window.flotilla`) can do with this tab's
 * peer. Every call is async: in one-peer-per-profile mode it may run in another tab.
 */
export interface DemoApi {
  /** The peer's id. */
  id(): Promise<string>
  /** Does this tab run the peer (false: it uses another tab's over a BroadcastChannel). */
  hostsPeer(): boolean
  status(): Promise<PeerStatus>
  /** The leader's status (its view of every member's lag), when reachable. */
  leaderView(): Promise<PeerStatus | null>
  metrics(): Promise<PeerMetrics>
  events(): Promise<DemoEvent[]>
  /** Embeds and upserts one document; resolves once applied on this peer. */
  add(text: string, id?: string): Promise<{ id: string; index: number }>
  search(
    text: string,
    options: { consistency: Consistency; k?: number; minIndex?: number },
  ): Promise<SearchAnswer>
  /** A document's text (null: absent). */
  get(id: string, consistency: Consistency): Promise<Served & { text: string | null }>
  count(consistency: Consistency): Promise<Served & { count: number }>
  transferLeadership(to?: string): Promise<void>
  setOffline(offline: boolean): Promise<void>
  isOffline(): Promise<boolean>
  embedderName(): Promise<string>
  /** What this tab's membership gate refused (connections from non-members, by kind). */
  gateStats(): Promise<GateStats>
}

const served = (r: Served): Served => ({
  index: r.index,
  peer: r.peer,
  consistency: r.consistency,
  stalenessMs: r.stalenessMs,
})

async function wrap<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work()
  } catch (err) {
    throw new DemoError(errorData(err))
  }
}

let counter = 0

/** The API over a peer this tab runs. */
export function localApi(tab: TabPeer, embedder: Embedder, log: EventLog): DemoApi {
  const docs = tab.peer.collection(COLLECTION)
  const embedOne = async (text: string) => (await embedder.embed([text]))[0]
  return {
    id: async () => tab.id,
    hostsPeer: () => true,
    status: async () => tab.peer.status(),
    leaderView: () => tab.leaderView(),
    metrics: async () => tab.peer.metrics(),
    events: async () => log.events.slice(),
    add: (text, id) =>
      wrap(async () => {
        const docId = id ?? `doc-${Date.now().toString(36)}-${(counter++).toString(36)}`
        const { index } = await docs.upsert(docId, await embedOne(text), { text })
        log.add('data', `added ${docId} at index ${index}`)
        return { id: docId, index }
      }),
    search: (text, { consistency, k = 8, minIndex }) =>
      wrap(async () => {
        const r = await docs.search(await embedOne(text), {
          k,
          consistency,
          ...(minIndex !== undefined ? { minIndex } : {}),
        })
        const hits = r.hits.map((h) => ({ ...h, text: String(h.metadata?.text ?? '') }))
        return { ...served(r), hits }
      }),
    get: (id, consistency) =>
      wrap(async () => {
        const r = await docs.get(id, { consistency })
        const text = r.point ? String(r.point.metadata?.text ?? '') : null
        return { ...served(r), text }
      }),
    count: (consistency) =>
      wrap(async () => {
        const r = await docs.count({ consistency })
        return { ...served(r), count: r.count }
      }),
    transferLeadership: (to) => wrap(() => tab.peer.transferLeadership(to)),
    setOffline: async (offline) => {
      if (tab.gate.offline === offline) return
      tab.gate.offline = offline
      log.add('network', offline ? 'this tab went offline' : 'this tab is back online')
    },
    isOffline: async () => tab.gate.offline,
    embedderName: async () => embedder.name,
    gateStats: async () => tab.membership.stats(),
  }
}
