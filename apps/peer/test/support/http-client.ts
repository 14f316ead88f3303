import { Agent, request } from 'node:http'

export interface HttpAnswer<T = Record<string, unknown>> {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: T
}

/** A keep-alive JSON client over node:http (tests and the cluster bench). */
export class HttpClient {
  private readonly agent: Agent

  constructor(maxSockets = 64) {
    this.agent = new Agent({ keepAlive: true, maxSockets })
  }

  async send<T = Record<string, unknown>>(
    url: string,
    method: string,
    body?: unknown,
    headers: Record<string, string> = {},
    timeoutMs = 15_000,
  ): Promise<HttpAnswer<T>> {
    try {
      return await this.once<T>(url, method, body, headers, timeoutMs)
    } catch (error) {
      // A pooled keep-alive socket the server closed as idle just as we reused it: the request
      // never reached the server. Node documents this race; resend reads once, never writes.
      const stale = (error as { staleSocket?: boolean }).staleSocket === true
      if (!stale || (method !== 'GET' && method !== 'HEAD')) throw error
      return this.once<T>(url, method, body, headers, timeoutMs)
    }
  }

  private once<T>(
    url: string,
    method: string,
    body: unknown,
    headers: Record<string, string>,
    timeoutMs: number,
  ): Promise<HttpAnswer<T>> {
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body)
    return new Promise((resolve, reject) => {
      const req = request(
        url,
        {
          method,
          agent: this.agent,
          headers: payload === undefined ? headers : { 'content-type': 'application/json', ...headers },
          timeout: timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = []
          res.on('data', (c: Buffer) => chunks.push(c))
          res.on('error', reject)
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8')
            let parsed: unknown = text
            try {
              parsed = text ? JSON.parse(text) : {}
            } catch {
              // not JSON (e.g. /metrics)
            }
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed as T })
          })
        },
      )
      req.on('timeout', () => req.destroy(new Error(`${method} ${url}: no answer in ${timeoutMs} ms`)))
      req.on('error', (error: Error & { code?: string; staleSocket?: boolean }) => {
        if (req.reusedSocket && error.code === 'ECONNRESET') error.staleSocket = true
        reject(error)
      })
      req.end(payload)
    })
  }

  get<T = Record<string, unknown>>(url: string, headers?: Record<string, string>) {
    return this.send<T>(url, 'GET', undefined, headers)
  }

  close(): void {
    this.agent.destroy()
  }
}
