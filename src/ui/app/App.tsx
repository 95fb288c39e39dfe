// The shell: the login form until a session exists, then the navigation and the page the address (#/keys) names.
// Each page is listed only for a role that may use it (the permissions /auth/v1/me reports); the gateway refuses the
// calls of the others anyway.
import type { FunctionComponent } from 'preact'
import { useEffect, useMemo, useState } from 'preact/hooks'
import { Session, type Me } from './api.js'
import { Login } from './Login.js'
import { Compliance } from './pages/Compliance.js'
import { Audit } from './pages/Audit.js'
import { Keys } from './pages/Keys.js'
import { Limits } from './pages/Limits.js'
import { Models } from './pages/Models.js'
import { Overview } from './pages/Overview.js'
import { Requests } from './pages/Requests.js'
import { Usage } from './pages/Usage.js'
import { Users } from './pages/Users.js'
import { can, SignedContext } from './session.js'

interface PageEntry {
  path: string
  title: string
  component: FunctionComponent
  /** What the caller needs to see the page at all. */
  permission: string
}

const pages: PageEntry[] = [
  { path: 'overview', title: 'Overview', component: Overview, permission: 'view_own_usage' },
  { path: 'usage', title: 'Usage', component: Usage, permission: 'view_own_usage' },
  { path: 'requests', title: 'Requests', component: Requests, permission: 'view_own_usage' },
  { path: 'keys', title: 'Keys', component: Keys, permission: 'manage_own_keys' },
  { path: 'users', title: 'Users', component: Users, permission: 'manage_users' },
  { path: 'limits', title: 'Limits', component: Limits, permission: 'manage_limits' },
  { path: 'models', title: 'Models', component: Models, permission: 'manage_models' },
  { path: 'compliance', title: 'Compliance', component: Compliance, permission: 'manage_users' },
  { path: 'audit', title: 'Audit', component: Audit, permission: 'view_audit' },
]

export function App() {
  const session = useMemo(() => new Session(), [])
  const [me, setMe] = useState<Me | undefined>(undefined)
  useEffect(() => {
    session.onEnded = () => setMe(undefined)
  }, [session])
  if (!me) return <Login session={session} onSignedIn={setMe} />
  return (
    <SignedContext.Provider value={{ session, me }}>
      <Shell me={me} onSignOut={() => void session.logout()} />
    </SignedContext.Provider>
  )
}

function Shell(props: { me: Me; onSignOut: () => void }) {
  const allowed = pages.filter((page) => can(props.me, page.permission))
  const route = useHashRoute()
  const current = allowed.find((page) => page.path === route) ?? allowed[0]
  useEffect(() => {
    document.title = current ? `${current.title} · Parallama` : 'Parallama'
  }, [current])
  return (
    <div class="shell">
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <span class="brand">Parallama</span>
        <nav aria-label="Dashboard">
          <ul>
            {allowed.map((page) => (
              <li>
                <a href={`#/${page.path}`} aria-current={page === current ? 'page' : undefined}>
                  {page.title}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <span class="who">
          {props.me.username} <span class="muted">({props.me.role})</span>
        </span>
        <button type="button" onClick={props.onSignOut}>
          Sign out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        {current ? <current.component key={current.path} /> : <p>Your role may not see any page of the dashboard.</p>}
      </main>
    </div>
  )
}

/** The page named after `#/` in the address; links and the browser's back button change it. */
function useHashRoute(): string {
  const read = () => location.hash.replace(/^#\/?/, '').split('?')[0] ?? ''
  const [route, setRoute] = useState(read)
  useEffect(() => {
    const changed = () => setRoute(read())
    addEventListener('hashchange', changed)
    return () => removeEventListener('hashchange', changed)
  }, [])
  return route
}
