/** The CLI's client for a running peer's HTTP API. */
export class RemoteError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(`${status} ${code}: ${message}`)
    this.name = 'RemoteError'
  }
}

export async function adminRequest(
  api: string,
  method: string,
  path: string,
  body?: unknown,
  token?: string,
): Promise<unknown> {
  const headers: Record<string, string> = {}
  if (body !== undefined) headers['content-type'] = 'application/json'
  if (token) headers.authorization = `Bearer ${token}`
  const response = await fetch(new URL(path, api), {
    method,
    headers,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  const answer = (await response.json().catch(() => ({}))) as { error?: { code: string; message: string } }
  if (!response.ok) {
    throw new RemoteError(
      response.status,
      answer.error?.code ?? 'ERR_HTTP',
      answer.error?.message ?? response.statusText,
    )
  }
  return answer
}
