import { type DemoApi, DemoError, type DemoErrorData, errorData } from './api.js'

const CHANNEL = 'flotilla-demo-profile'
/** Per try: a holder answers at once; none answers while the next tab opens the peer. */
const CALL_TIMEOUT_MS = 2_000

type Method = Exclude<keyof DemoApi, 'hostsPeer'>
type Call = { type: 'call'; call: string; method: Method; args: unknown[] }
type Reply =
  | { type: 'reply'; call: string; ok: true; value: unknown }
  | { type: 'reply'; call: string; ok: false; error: DemoErrorData }

/** The tab that holds the profile's peer answers the other tabs' calls. */
export function serveOverChannel(api: DemoApi): () => void {
  const channel = new BroadcastChannel(CHANNEL)
  channel.onmessage = async (e: MessageEvent<Call>) => {
    const msg = e.data
    if (msg?.type !== 'call') return
    let reply: Reply
    try {
      const fn = api[msg.method] as (...args: unknown[]) => Promise<unknown>
      reply = { type: 'reply', call: msg.call, ok: true, value: await fn(...msg.args) }
    } catch (err) {
      reply = { type: 'reply', call: msg.call, ok: false, error: errorData(err) }
    }
    channel.postMessage(reply)
  }
  return () => channel.close()
}

/**
 * The API of a tab that does not hold the profile's peer: every call goes over a
 * BroadcastChannel to the tab that does. A call that finds no holder (it just closed, the
 * next one is opening the peer) fails with ERR_NO_HOLDER; the caller retries.
 */
export function channelApi(): DemoApi & { close(): void } {
  const channel = new BroadcastChannel(CHANNEL)
  const waiting = new Map<string, { resolve(v: unknown): void; reject(e: unknown): void }>()
  channel.onmessage = (e: MessageEvent<Reply>) => {
    const msg = e.data
    if (msg?.type !== 'reply') return
    const w = waiting.get(msg.call)
    if (!w) return
    waiting.delete(msg.call)
    if (msg.ok) w.resolve(msg.value)
    else w.reject(new DemoError(msg.error))
  }
  const call =
    (method: Method) =>
    (...args: unknown[]): Promise<never> =>
      new Promise((resolve, reject) => {
        const id = crypto.randomUUID()
        waiting.set(id, { resolve: resolve as (v: unknown) => void, reject })
        channel.postMessage({ type: 'call', call: id, method, args } satisfies Call)
        setTimeout(() => {
          if (!waiting.delete(id)) return
          reject(new DemoError({ code: 'ERR_NO_HOLDER', message: 'no tab of this profile answered' }))
        }, CALL_TIMEOUT_MS)
      })
  return {
    id: call('id'),
    hostsPeer: () => false,
    status: call('status'),
    leaderView: call('leaderView'),
    metrics: call('metrics'),
    events: call('events'),
    add: call('add'),
    search: call('search'),
    get: call('get'),
    count: call('count'),
    transferLeadership: call('transferLeadership'),
    setOffline: call('setOffline'),
    isOffline: call('isOffline'),
    embedderName: call('embedderName'),
    gateStats: call('gateStats'),
    close: () => channel.close(),
  }
}
