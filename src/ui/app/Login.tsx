// The login form: a user's name and password, through /auth/v1/login (the sessions of src/auth/sessions.ts).
import { useState } from 'preact/hooks'
import type { Me, Session } from './api.js'
import { ErrorNote, Field } from './ui.js'
import { asApiError } from './useResource.js'
import type { ApiError } from './api.js'

export function Login(props: { session: Session; onSignedIn: (me: Me) => void }) {
  const [username, setUsername] = useState('')
  const [password, setPassword] = useState('')
  const [error, setError] = useState<ApiError | undefined>(undefined)
  const [busy, setBusy] = useState(false)
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
      </form>
    </main>
  )
}
