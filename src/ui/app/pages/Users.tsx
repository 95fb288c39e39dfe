// Users (manage_users): the list with filters, a new user, and per user: role, enable or disable, a new password,
// delete — /admin/v1/users (CONTRACT.md).
import { useState } from 'preact/hooks'
import { query, type ApiError } from '../api.js'
import { count, when } from '../format.js'
import { useSigned } from '../session.js'
import { ErrorNote, Field, Loading, Page, Pager, Select, Table } from '../ui.js'
import { asApiError, usePaged } from '../useResource.js'
import { ConfirmButton } from './Keys.js'

interface UserView {
  username: string
  role: string
  active: boolean
  weight: number
  email: string | null
  display_name: string | null
  password: boolean
  keys: number
  created: string
  last_login: string | null
}

const roles = [
  ['user', 'user'],
  ['admin', 'admin'],
  ['readonly', 'readonly'],
] as const

export function Users() {
  const { session } = useSigned()
  const [filters, setFilters] = useState({ q: '', role: '', active: '' })
  const [draft, setDraft] = useState(filters)
  const list = usePaged<UserView>(`/admin/v1/users${query({ ...filters, limit: 100 })}`)
  const [actionError, setActionError] = useState<ApiError | undefined>(undefined)
  const act = async (call: () => Promise<unknown>) => {
    setActionError(undefined)
    try {
      await call()
      list.reload()
    } catch (failure) {
      setActionError(asApiError(failure))
    }
  }
  const path = (user: UserView) => `/admin/v1/users/${encodeURIComponent(user.username)}`
  const patch = (user: UserView, body: Record<string, unknown>) =>
    act(() => session.json(path(user), { method: 'PATCH', body }))
  return (
    <Page title="Users">
      <form
        class="filters"
        onSubmit={(event) => {
          event.preventDefault()
          setFilters(draft)
        }}
      >
        <Field label="Username starts with" value={draft.q} onInput={(q) => setDraft({ ...draft, q })} />
        <Select
          label="Role"
          value={draft.role}
          options={[['', 'any'], ...roles]}
          onChange={(role) => setDraft({ ...draft, role })}
        />
        <Select
          label="State"
          value={draft.active}
          options={[
            ['', 'any'],
            ['true', 'active'],
            ['false', 'disabled'],
          ]}
          onChange={(active) => setDraft({ ...draft, active })}
        />
        <button type="submit">Filter</button>
      </form>
      <CreateUser onCreate={(body) => act(() => session.json('/admin/v1/users', { method: 'POST', body }))} />
      <ErrorNote error={list.error ?? actionError} />
      <Loading when={list.loading && !list.data} />
      <Table
        caption="Users"
        rows={list.items}
        empty="No user matches."
        columns={[
          { title: 'Username', value: (user) => user.username },
          {
            title: 'Role',
            value: (user) => (
              <select
                aria-label={`Role of ${user.username}`}
                value={user.role}
                onChange={(event) => void patch(user, { role: (event.target as HTMLSelectElement).value })}
              >
                {roles.map(([value]) => (
                  <option value={value}>{value}</option>
                ))}
              </select>
            ),
          },
          { title: 'State', value: (user) => (user.active ? 'active' : 'disabled') },
          { title: 'Email', value: (user) => user.email ?? '–' },
          { title: 'Keys', value: (user) => count(user.keys), numeric: true },
          { title: 'Weight', value: (user) => count(user.weight), numeric: true },
          { title: 'Last login', value: (user) => when(user.last_login) },
          {
            title: 'Actions',
            value: (user) => (
              <span class="actions">
                <button
                  type="button"
                  aria-label={`${user.active ? 'Disable' : 'Enable'} ${user.username}`}
                  onClick={() => void patch(user, { active: !user.active })}
                >
                  {user.active ? 'Disable' : 'Enable'}
                </button>
                <PasswordButton
                  username={user.username}
                  onSet={(password) =>
                    act(() => session.json(`${path(user)}/password`, { method: 'PUT', body: { password } }))
                  }
                />
                <ConfirmButton
                  label={`Delete ${user.username}`}
                  text="Delete"
                  onConfirm={() => void act(() => session.fetch(path(user), { method: 'DELETE' }))}
                />
              </span>
            ),
          },
        ]}
      />
      <Pager pageNumber={list.pageNumber} previous={list.previous} next={list.next} />
    </Page>
  )
}

function CreateUser(props: { onCreate: (body: Record<string, unknown>) => Promise<void> }) {
  const empty = { name: '', role: 'user', email: '', password: '' }
  const [fields, setFields] = useState(empty)
  const submit = async (event: Event) => {
    event.preventDefault()
    await props.onCreate({
      name: fields.name.trim(),
      role: fields.role,
      email: fields.email.trim() || undefined,
      password: fields.password || undefined,
    })
    setFields(empty)
  }
  return (
    <form class="create" onSubmit={(event) => void submit(event)} aria-label="Create a user">
      <Field label="Name" value={fields.name} onInput={(name) => setFields({ ...fields, name })} required />
      <Select label="Role" value={fields.role} options={roles} onChange={(role) => setFields({ ...fields, role })} />
      <Field label="Email" type="email" value={fields.email} onInput={(email) => setFields({ ...fields, email })} />
      <Field
        label="Password"
        type="password"
        autocomplete="new-password"
        value={fields.password}
        onInput={(password) => setFields({ ...fields, password })}
      />
      <button type="submit">Create user</button>
    </form>
  )
}

/** A new password typed in place; an empty one removes the password (the user then logs in no more). */
function PasswordButton(props: { username: string; onSet: (password: string | null) => Promise<void> }) {
  const [open, setOpen] = useState(false)
  const [password, setPassword] = useState('')
  if (!open) {
    return (
      <button type="button" aria-label={`Set password of ${props.username}`} onClick={() => setOpen(true)}>
        Password
      </button>
    )
  }
  return (
    <form
      class="inline"
      onSubmit={(event) => {
        event.preventDefault()
        void props.onSet(password === '' ? null : password).then(() => setOpen(false))
      }}
    >
      <Field
        label={`New password of ${props.username}`}
        type="password"
        autocomplete="new-password"
        value={password}
        onInput={setPassword}
      />
      <button type="submit">Save password</button>
      <button type="button" onClick={() => setOpen(false)}>
        Cancel
      </button>
    </form>
  )
}
