// The dashboard's only way to the gateway: a login session kept in memory (never in storage or a cookie, see
// docs/dashboard.md), each call presenting its access token, a 401 answered by one refresh and one retry. Refreshes
// are serialized: a refresh token works once, and two refreshes with the same one would end the login (reuse
// detection in src/auth/sessions.ts).

/** A refusal from the gateway: its problem details, read into one object. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

interface TokenPair {
  access_token: string
  refresh_token: string
}

export interface Me {
  username: string
  role: string
  permissions: string[]
  email: string | null
  display_name: string | null
}

/** What one call may send: a method and a JSON body, and an If-Match for a change to one object. */
export interface CallOptions {
  method?: string
  body?: unknown
  ifMatch?: string
  signal?: AbortSignal
}

export class Session {
  private tokens: TokenPair | undefined
  private refreshing: Promise<boolean> | undefined
  /** Told when the login ends (logout, or a refresh refused): the app shows the login form again. */
  onEnded: () => void = () => {}

  async login(username: string, password: string): Promise<Me> {
    const response = await fetch('/auth/v1/login', jsonInit('POST', { username, password }))
    if (!response.ok) throw await apiError(response)
    this.tokens = (await response.json()) as TokenPair
    return this.json<Me>('/auth/v1/me')
  }

  async logout(): Promise<void> {
    const tokens = this.tokens
    this.tokens = undefined
    if (tokens) {
      const init = jsonInit('POST', { refresh_token: tokens.refresh_token })
      init.headers = { ...init.headers, authorization: `Bearer ${tokens.access_token}` }
      // The login ends here whatever the gateway answers: the tokens are forgotten already.
      await fetch('/auth/v1/logout', init).catch(() => undefined)
    }
    this.onEnded()
  }

  /** A JSON answer, or an ApiError with the gateway's problem details. */
  async json<T>(path: string, options: CallOptions = {}): Promise<T> {
    const response = await this.fetch(path, options)
    return (await response.json()) as T
  }

  /** The raw answer (a stream, a CSV file), after the same authentication; refusals are thrown like json()'s. */
  async fetch(path: string, options: CallOptions = {}): Promise<Response> {
    let response = await this.send(path, options)
    if (response.status === 401 && (await this.refresh())) response = await this.send(path, options)
    if (response.status === 401) {
      this.tokens = undefined
      this.onEnded()
    }
    if (!response.ok) throw await apiError(response)
    return response
  }

  private send(path: string, options: CallOptions): Promise<Response> {
    const init = jsonInit(options.method ?? 'GET', options.body)
    const headers: Record<string, string> = { ...(init.headers as Record<string, string>) }
    if (this.tokens) headers.authorization = `Bearer ${this.tokens.access_token}`
    if (options.ifMatch) headers['if-match'] = options.ifMatch
    return fetch(path, { ...init, headers, signal: options.signal })
  }

  /** One refresh at a time; true when a new pair was obtained. */
  private refresh(): Promise<boolean> {
    this.refreshing ??= this.exchange().finally(() => (this.refreshing = undefined))
    return this.refreshing
  }

  private async exchange(): Promise<boolean> {
    const used = this.tokens
    if (!used) return false
    const response = await fetch('/auth/v1/refresh', jsonInit('POST', { refresh_token: used.refresh_token }))
    if (!response.ok) return false
    this.tokens = (await response.json()) as TokenPair
    return true
  }
}

function jsonInit(method: string, body: unknown): RequestInit {
  if (body === undefined) return { method, headers: {} }
  return { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }
}

/** The problem details of a refusal; a body that is not one still gives its status. */
async function apiError(response: Response): Promise<ApiError> {
  const text = await response.text().catch(() => '')
  try {
    const problem = JSON.parse(text) as { code?: string; detail?: string; title?: string }
    return new ApiError(response.status, problem.code ?? 'error', problem.detail ?? problem.title ?? text)
  } catch {
    return new ApiError(response.status, 'error', text || `${response.status} ${response.statusText}`)
  }
}

/** A query string from the fields that are set. */
export function query(fields: Record<string, string | number | undefined>): string {
  const params = new URLSearchParams()
  for (const [name, value] of Object.entries(fields))
    if (value !== undefined && value !== '') params.set(name, String(value))
  const text = params.toString()
  return text ? `?${text}` : ''
}
