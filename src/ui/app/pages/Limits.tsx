// Limits (manage_limits): every rule (GET /admin/v1/limits); one subject's rule on one API and model to read, set
// (PUT: exactly these limits) or remove, and every rule of a subject removed at once (reset); and which limits apply
// to a key or a user, and the rule each comes from (GET /admin/v1/limits/explain).
import { useState } from 'preact/hooks'
import { query, type ApiError } from '../api.js'
import { useSigned } from '../session.js'
import { ErrorNote, Field, Loading, Page, Pager, Select, Table } from '../ui.js'
import { asApiError, usePaged, useResource } from '../useResource.js'
import { ConfirmButton } from './Keys.js'
import { limitKinds } from '../../../limits/limitKinds.js'

interface RuleView {
  subject_type: string
  subject: string
  gateway: string
  model: string | null
  limits: Record<string, number>
}

const subjects = [
  ['user', 'user'],
  ['key', 'key id'],
  ['role', 'role'],
  ['default', 'default'],
  ['ip', 'address range'],
] as const

const apis = [
  ['*', 'both APIs'],
  ['ollama', 'Ollama'],
  ['openai', 'OpenAI'],
] as const

/** The limit kinds, each a whole number: the server's own list. */
const kinds = limitKinds

/** `rpm 100, concurrency 2`: a rule's limits in one cell. */
function limitsText(limits: Record<string, number>): string {
  return Object.entries(limits)
    .map(([kind, value]) => `${kind} ${value}`)
    .join(', ')
}

function subjectText(rule: RuleView): string {
  return rule.subject_type === 'default' ? 'default' : `${rule.subject_type} ${rule.subject}`
}

export function Limits() {
  const all = usePaged<RuleView>('/admin/v1/limits')
  return (
    <Page title="Limits">
      <ErrorNote error={all.error} />
      <Loading when={all.loading && !all.data} />
      <Table
        caption="Every limit rule"
        rows={all.items}
        empty="No limit rules: nobody is limited."
        columns={[
          { title: 'Subject', value: subjectText },
          { title: 'API', value: (rule) => rule.gateway },
          { title: 'Model', value: (rule) => rule.model ?? 'every model' },
          { title: 'Limits', value: (rule) => limitsText(rule.limits) },
        ]}
      />
      <Pager pageNumber={all.pageNumber} previous={all.previous} next={all.next} />
      <OneSubject onChanged={all.reload} />
      <Explain />
    </Page>
  )
}

interface Scope {
  subject: string
  name: string
  gateway: string
  model: string
}

/** One subject's rule on one API and model: read it, set it, remove it; or remove all of the subject's rules. */
function OneSubject(props: { onChanged: () => void }) {
  const { session } = useSigned()
  const [draft, setDraft] = useState<Scope>({ subject: 'user', name: '', gateway: '*', model: '' })
  const [chosen, setChosen] = useState<Scope | undefined>(undefined)
  const base = chosen && `/admin/v1/limits/${chosen.subject}/${encodeURIComponent(chosen.name.trim() || '-')}`
  const scope = chosen ? query({ gateway: chosen.gateway, model: chosen.model.trim() }) : ''
  const rule = useResource<RuleView>(base && base + scope)
  const [values, setValues] = useState<Record<string, string>>({})
  const [actionError, setActionError] = useState<ApiError | undefined>(undefined)
  const act = async (call: () => Promise<unknown>) => {
    setActionError(undefined)
    try {
      await call()
      rule.reload()
      props.onChanged()
    } catch (failure) {
      setActionError(asApiError(failure))
    }
  }
  const body = () =>
    Object.fromEntries(
      Object.entries(values)
        .filter(([, value]) => value.trim() !== '')
        .map(([kind, value]) => [kind, Number(value)]),
    )
  return (
    <section aria-labelledby="subject-title">
      <h2 id="subject-title">One subject</h2>
      <form
        class="filters"
        onSubmit={(event) => {
          event.preventDefault()
          setChosen(draft)
        }}
      >
        <Select
          label="Subject"
          value={draft.subject}
          options={subjects}
          onChange={(subject) => setDraft({ ...draft, subject })}
        />
        {draft.subject !== 'default' && (
          <Field label="Subject name" value={draft.name} onInput={(name) => setDraft({ ...draft, name })} />
        )}
        <Select
          label="API"
          value={draft.gateway}
          options={apis}
          onChange={(gateway) => setDraft({ ...draft, gateway })}
        />
        <Field
          label="Only for model"
          value={draft.model}
          onInput={(model) => setDraft({ ...draft, model })}
          placeholder="every model"
        />
        <button type="submit">Show limits</button>
      </form>
      {base && chosen && (
        <>
          <ErrorNote error={actionError ?? rule.error} />
          {rule.data && (
            <p>
              {subjectText(rule.data)} ({rule.data.gateway}, {rule.data.model ?? 'every model'}):{' '}
              <strong>{limitsText(rule.data.limits)}</strong>
            </p>
          )}
          <form
            class="create"
            aria-label="Set limits"
            onSubmit={(event) => {
              event.preventDefault()
              void act(() => session.json(base + scope, { method: 'PUT', body: body() }))
            }}
          >
            {kinds.map((kind) => (
              <Field
                label={kind}
                type="number"
                value={values[kind] ?? ''}
                onInput={(value) => setValues({ ...values, [kind]: value })}
              />
            ))}
            <button type="submit">Save limits</button>
          </form>
          <span class="actions">
            <ConfirmButton
              label="Remove this rule"
              text="Remove"
              onConfirm={() => void act(() => session.json(base + scope, { method: 'DELETE' }))}
            />
            <ConfirmButton
              label="Reset: remove every rule of this subject"
              text="Reset"
              onConfirm={() => void act(() => session.json(`${base}/reset`, { method: 'POST' }))}
            />
          </span>
        </>
      )}
    </section>
  )
}

interface Explained {
  limits: { limit: string; value: number; from: RuleView }[]
}

/** Which limits apply to a key or a user, and the rule each comes from. */
function Explain() {
  const [draft, setDraft] = useState({ by: 'user', name: '', api: 'ollama' })
  const [asked, setAsked] = useState<typeof draft | undefined>(undefined)
  const answer = useResource<Explained>(
    asked && `/admin/v1/limits/explain${query({ [asked.by]: asked.name.trim(), api: asked.api })}`,
  )
  return (
    <section aria-labelledby="explain-title">
      <h2 id="explain-title">Explain</h2>
      <form
        class="filters"
        onSubmit={(event) => {
          event.preventDefault()
          setAsked(draft)
        }}
      >
        <Select
          label="Explain for"
          value={draft.by}
          options={[
            ['user', 'user'],
            ['key', 'key id'],
          ]}
          onChange={(by) => setDraft({ ...draft, by })}
        />
        <Field label="Name or id" value={draft.name} onInput={(name) => setDraft({ ...draft, name })} required />
        <Select
          label="On the API"
          value={draft.api}
          options={apis.slice(1)}
          onChange={(api) => setDraft({ ...draft, api })}
        />
        <button type="submit">Explain</button>
      </form>
      <ErrorNote error={answer.error} />
      <Table
        caption="Limits that apply"
        rows={answer.data?.limits}
        empty="No limit applies."
        columns={[
          { title: 'Limit', value: (row) => row.limit },
          { title: 'Value', value: (row) => String(row.value), numeric: true },
          { title: 'From the rule of', value: (row) => `${subjectText(row.from)} (${row.from.gateway})` },
        ]}
      />
    </section>
  )
}
