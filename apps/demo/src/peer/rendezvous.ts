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
  /** Says hello: am I to found the group (only with empty storage)? */
  hello: (id: string, fresh: boolean) => json<{ founder: boolean }>('/flotilla/hello', { id, fresh }),
  founded: (id: string) => json<unknown>('/flotilla/founded', { id }),
  /** A joiner says it waits to be added (again every second until it is). */
  wait: (id: string) => json<unknown>('/flotilla/wait', { id }),
  /** The tabs waiting to be added, longest waiting first (the leader reads it). */
  joiners: () => json<{ ids: string[] }>('/flotilla/joiners'),
}
