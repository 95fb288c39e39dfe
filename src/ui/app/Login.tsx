// The login form: a user's name and password, through /auth/v1/login (the sessions of src/auth/sessions.ts), and
// "Sign in with SSO" when the gateway has an identity provider. A single sign-on comes back to /ui/ with a one-time
// code (or the refusal) in the fragment: read once, removed from the address and history at once, then exchanged.
import { useEffect, useState } from 'preact/hooks'
import { ApiError, type Me, type Session } from './api.js'
import { ErrorNote, Field } from './ui.js'
import { asApiError } from './useResource.js'

export function Login(props: { session: Session; onSignedIn: (me: Me) => void }) {
  const [username, setUsername] = useState('')
  const [password, setPassword] = useState('')
  const [error, setError] = useState<ApiError | undefined>(undefined)
  const [busy, setBusy] = useState(false)
  const [sso, setSso] = useState(false)
  useEffect(() => {
    const handed = ssoHandoff()
    if (handed?.code) {
      setBusy(true)
      props.session.redeemSso(handed.code).then(props.onSignedIn, (failure: unknown) => {
        setError(asApiError(failure))
        setBusy(false)
      })
    } else if (handed?.error) {
      setError(new ApiError(401, handed.error, handed.message ?? 'the sign-in was refused'))
    }
    void props.session.ssoEnabled().then(setSso)
  }, [props.session])
  const submit = async (event: Event) => {
    event.preventDefault()
    setBusy(true)
    setError(undefined)
    try {
      props.onSignedIn(await props.session.login(username, password))
    } catch (failure) {
      setError(asApiError(failure))
      setBusy(false)
    }
  }
  return (
    <main class="login">
      <form onSubmit={(event) => void submit(event)} aria-labelledby="login-title">
        <h1 id="login-title">Sign in to Parallama</h1>
        <Field label="Username" value={username} onInput={setUsername} required autocomplete="username" />
        <Field
          label="Password"
          type="password"
          value={password}
          onInput={setPassword}
          required
          autocomplete="current-password"
        />
        <ErrorNote error={error} />
        <button type="submit" disabled={busy}>
          Sign in
        </button>
        {sso && (
          <p>
            <a class="button" href="/auth/v1/oidc/login">
              Sign in with SSO
            </a>
          </p>
        )}
      </form>
    </main>
  )
}

/** The single sign-on's answer in the fragment (#sso_code=... or #sso_error=...), taken out of the address. */
function ssoHandoff(): { code?: string; error?: string; message?: string } | undefined {
  const hash = window.location.hash
  if (!hash.startsWith('#sso_')) return undefined
  window.history.replaceState(null, '', window.location.pathname + window.location.search)
  const fields = new URLSearchParams(hash.slice(1))
  return {
    code: fields.get('sso_code') ?? undefined,
    error: fields.get('sso_error') ?? undefined,
    message: fields.get('sso_message') ?? undefined,
  }
}
