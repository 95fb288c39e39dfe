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
  /** Signed in through the identity provider: logout ends its session too. */
  private viaSso = false
  /** Told when the login ends (logout, or a refresh refused): the app shows the login form again. */
  onEnded: () => void = () => {}

  async login(username: string, password: string): Promise<Me> {
    const response = await fetch('/auth/v1/login', jsonInit('POST', { username, password }))
    if (!response.ok) throw await apiError(response)
    this.tokens = (await response.json()) as TokenPair
    return this.json<Me>('/auth/v1/me')
  }

  /** Whether the gateway offers single sign-on (the login form shows its button then). */
  async ssoEnabled(): Promise<boolean> {
    const response = await fetch('/auth/v1/oidc').catch(() => undefined)
    if (!response?.ok) return false
    return ((await response.json()) as { enabled?: boolean }).enabled === true
  }

  /**
   * Finishes a single sign-on: the one-time code the gateway put in this page's fragment is exchanged for the login
   * pair (the tokens never travel in a URL).
   */
  async redeemSso(code: string): Promise<Me> {
    const response = await fetch('/auth/v1/oidc/token', jsonInit('POST', { code }))
    if (!response.ok) throw await apiError(response)
    this.tokens = (await response.json()) as TokenPair
    this.viaSso = true
    return this.json<Me>('/auth/v1/me')
  }

  async logout(): Promise<void> {
    const tokens = this.tokens
    const viaSso = this.viaSso
    this.tokens = undefined
    this.viaSso = false
    let endSession: string | null = null
    if (tokens) {
      const init = jsonInit('POST', { refresh_token: tokens.refresh_token })
      init.headers = { ...init.headers, authorization: `Bearer ${tokens.access_token}` }
      // The login ends here whatever the gateway answers: the tokens are forgotten already.
      const response = await fetch(viaSso ? '/auth/v1/oidc/logout' : '/auth/v1/logout', init).catch(() => undefined)
      if (viaSso && response?.ok)
        endSession = ((await response.json()) as { end_session_url?: string | null }).end_session_url ?? null
    }
    this.onEnded()
    // Signed in at the identity provider: end that session too (it sends the browser back to the dashboard).
    if (endSession) window.location.assign(endSession)
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
