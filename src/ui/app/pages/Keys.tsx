// Keys: the caller's own API keys through the self-service API (/auth/v1/keys: list, create, revoke), and with
// manage_keys any user's through the admin API (/admin/v1/keys?user=). Rotation is the admin API's for both
// (POST /admin/v1/keys/{id}/rotate). A new key's secret is shown once, with a button that copies it.
import { useState } from 'preact/hooks'
import { query, type ApiError } from '../api.js'
import { when } from '../format.js'
import { can, useSigned } from '../session.js'
import { ErrorNote, Field, Loading, Page, Table } from '../ui.js'
import { asApiError, useResource } from '../useResource.js'

export interface KeyView {
  id: string
  user: string
  prefix: string
  name: string | null
  models: string[] | null
  state: string
  created: string | null
  expires: string | null
  last_used: string | null
}

type Issued = KeyView & { key: string }

export function Keys() {
  const { me, session } = useSigned()
  const anyone = can(me, 'manage_keys')
  const [owner, setOwner] = useState(me.username)
  const [ownerDraft, setOwnerDraft] = useState(me.username)
  const own = owner.trim() === '' || owner.trim().toLowerCase() === me.username.toLowerCase()
  const list = useResource<{ keys?: KeyView[]; items?: KeyView[] }>(
    own ? '/auth/v1/keys' : `/admin/v1/keys${query({ user: owner.trim(), limit: 500 })}`,
  )
  const keys = list.data && (list.data.keys ?? list.data.items ?? [])
  const [issued, setIssued] = useState<Issued | undefined>(undefined)
  const [actionError, setActionError] = useState<ApiError | undefined>(undefined)
  const act = async (call: () => Promise<Issued | KeyView>) => {
    setActionError(undefined)
    try {
      const answer = await call()
      if ('key' in answer) setIssued(answer)
      list.reload()
    } catch (failure) {
      setActionError(asApiError(failure))
    }
  }
  const revoke = (key: KeyView) =>
    act(() =>
      own
        ? session.json<KeyView>(`/auth/v1/keys/${encodeURIComponent(key.id)}`, { method: 'DELETE' })
        : session.json<KeyView>(`/admin/v1/keys/${encodeURIComponent(key.id)}/revoke`, { method: 'POST' }),
    )
  const rotate = (key: KeyView) =>
    act(() => session.json<Issued>(`/admin/v1/keys/${encodeURIComponent(key.id)}/rotate`, { method: 'POST', body: {} }))
  return (
    <Page title="Keys">
      {anyone && (
        <form
          class="filters"
          onSubmit={(event) => {
            event.preventDefault()
            setOwner(ownerDraft)
          }}
        >
          <Field label="Keys of user" value={ownerDraft} onInput={setOwnerDraft} />
          <button type="submit">Show keys</button>
        </form>
      )}
      <CreateKey
        onCreate={(fields) =>
          act(() =>
            own
              ? session.json<Issued>('/auth/v1/keys', { method: 'POST', body: fields.self })
              : session.json<Issued>('/admin/v1/keys', {
                  method: 'POST',
                  body: { user: owner.trim(), ...fields.admin },
                }),
          )
        }
      />
      {issued && <NewKey issued={issued} onDone={() => setIssued(undefined)} />}
      <ErrorNote error={list.error ?? actionError} />
      <Loading when={list.loading && !list.data} />
      <Table
        caption={own ? 'Your keys' : `Keys of ${owner}`}
        rows={keys}
        empty="No keys yet."
        columns={[
          { title: 'Name', value: (key) => key.name ?? '–' },
          { title: 'Prefix', value: (key) => <code>{key.prefix}</code> },
          { title: 'Models', value: (key) => key.models?.join(', ') ?? 'all' },
          { title: 'State', value: (key) => key.state },
          { title: 'Created', value: (key) => when(key.created) },
          { title: 'Expires', value: (key) => when(key.expires) },
          { title: 'Last used', value: (key) => when(key.last_used) },
          {
            title: 'Actions',
            value: (key) =>
              key.state === 'active' && (
                <span class="actions">
                  <button type="button" aria-label={`Rotate key ${label(key)}`} onClick={() => void rotate(key)}>
                    Rotate
                  </button>
                  <ConfirmButton label={`Revoke key ${label(key)}`} text="Revoke" onConfirm={() => void revoke(key)} />
                </span>
              ),
          },
        ]}
      />
    </Page>
  )
}

function label(key: KeyView): string {
  return key.name ?? key.prefix
}

interface NewKeyFields {
  /** The self-service API's body (/auth/v1/keys). */
  self: { name?: string; models?: string[]; expires_in?: string }
  /** The admin API's body (/admin/v1/keys), less the user. */
  admin: { name?: string; models?: string[]; expires?: string }
}

function CreateKey(props: { onCreate: (fields: NewKeyFields) => Promise<void> }) {
  const [name, setName] = useState('')
  const [models, setModels] = useState('')
  const [expires, setExpires] = useState('')
  const submit = async (event: Event) => {
    event.preventDefault()
    const list = models
      .split(',')
      .map((model) => model.trim())
      .filter(Boolean)
    const common = { name: name.trim() || undefined, models: list.length > 0 ? list : undefined }
    const lifetime = expires.trim() || undefined
    await props.onCreate({ self: { ...common, expires_in: lifetime }, admin: { ...common, expires: lifetime } })
    setName('')
    setModels('')
    setExpires('')
  }
  return (
    <form class="create" onSubmit={(event) => void submit(event)} aria-label="Create a key">
      <Field label="Name" value={name} onInput={setName} />
      <Field label="Models" value={models} onInput={setModels} placeholder="all (or llama3, qwen:*)" />
      <Field label="Expires in" value={expires} onInput={setExpires} placeholder="never (or 30d)" />
      <button type="submit">Create key</button>
    </form>
  )
}

/** The secret of a key just made: here once, never again (the gateway keeps only its hash). */
function NewKey(props: { issued: Issued; onDone: () => void }) {
  const [copied, setCopied] = useState(false)
  const copy = async () => {
    await navigator.clipboard.writeText(props.issued.key)
    setCopied(true)
  }
  return (
    <div class="new-key" role="region" aria-label="Create a key">
      <p>
        <strong>Copy this key now:</strong> it is shown only once.
      </p>
      <label class="field">
        <span>New key</span>
        <input
          readOnly
          value={props.issued.key}
          data-testid="new-key"
          onFocus={(event) => event.currentTarget.select()}
        />
      </label>
      <button type="button" onClick={() => void copy()}>
        Copy key
      </button>
      <span role="status">{copied ? 'Copied.' : ''}</span>
      <button type="button" onClick={props.onDone}>
        Done
      </button>
    </div>
  )
}

/** A destructive action asks once more in place (no modal dialog to trap the keyboard). */
export function ConfirmButton(props: { label: string; text: string; onConfirm: () => void }) {
  const [armed, setArmed] = useState(false)
  if (!armed) {
    return (
      <button type="button" aria-label={props.label} onClick={() => setArmed(true)}>
        {props.text}
      </button>
    )
  }
  return (
    <span class="confirm">
      <button type="button" class="danger" aria-label={`Confirm: ${props.label}`} onClick={props.onConfirm}>
        Confirm {props.text.toLowerCase()}
      </button>
      <button type="button" aria-label={`Cancel: ${props.label}`} onClick={() => setArmed(false)}>
        Cancel
      </button>
    </span>
  )
}
