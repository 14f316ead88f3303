import type { DemoConfig } from '../../server/coordinator.js'

export type { DemoConfig }

async function json<T>(path: string, body?: unknown): Promise<T> {
  const res = await fetch(path, {
    method: body === undefined ? 'GET' : 'POST',
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: 'no-store',
  })
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`)
  return (await res.json()) as T
}

/** The demo server's rendezvous (server/coordinator.ts). */
export const rendezvous = {
  config: () => json<DemoConfig>('/flotilla/config.json'),
  /** Says hello: am I to found the group (only with empty storage), and which tabs to ask to join it. */
  hello: (id: string, fresh: boolean) =>
    json<{ founder: boolean; peers: string[] }>('/flotilla/hello', { id, fresh }),
  founded: (id: string) => json<unknown>('/flotilla/founded', { id }),
}
