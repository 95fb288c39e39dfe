// Limits (manage_limits): every rule (GET /admin/v1/limits), one subject's rule to read, set, reset or delete
// (/admin/v1/limits/{subject}/{name}), and why a key or user is limited as it is (GET /admin/v1/limits/explain).
// Rules are shown field by field as the API words them.
import { useState } from 'preact/hooks'
import { query, type ApiError } from '../api.js'
import { useSigned } from '../session.js'
import { ErrorNote, Field, Loading, ObjectTable, Page, Pager, Select } from '../ui.js'
import { asApiError, usePaged, useResource } from '../useResource.js'
import { ConfirmButton } from './Keys.js'

const subjects = [
  ['user', 'user'],
  ['key', 'key'],
  ['role', 'role'],
  ['default', 'default'],
  ['ip', 'address range'],
  ['model', 'model'],
] as const

/** The limit kinds of src/limits/rules.ts, each a whole number. */
const kinds = [
  'rpm',
  'rph',
  'rpd',
  'tpm',
  'tph',
  'tpd',
  'concurrency',
  'daily_tokens',
  'monthly_tokens',
  'daily_requests',
  'monthly_requests',
] as const

export function Limits() {
  const all = usePaged<Record<string, unknown>>('/admin/v1/limits')
  return (
    <Page title="Limits">
      <ErrorNote error={all.error} />
      <Loading when={all.loading && !all.data} />
      <ObjectTable caption="Every limit rule" rows={all.items} empty="No limit rules: nobody is limited." />
      <Pager pageNumber={all.pageNumber} previous={all.previous} next={all.next} />
      <OneSubject onChanged={all.reload} />
      <Explain />
    </Page>
  )
}

/** One subject's rule: read it, set its values, reset its counters, delete it. */
function OneSubject(props: { onChanged: () => void }) {
  const { session } = useSigned()
  const [draft, setDraft] = useState({ subject: 'user', name: '' })
  const [chosen, setChosen] = useState<{ subject: string; name: string } | undefined>(undefined)
  const path = chosen && `/admin/v1/limits/${chosen.subject}/${encodeURIComponent(chosen.name || '-')}`
  const rule = useResource<Record<string, unknown>>(path)
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
        <button type="submit">Show limits</button>
      </form>
      {path && (
        <>
          <ErrorNote error={actionError ?? rule.error} />
          {rule.data && <ObjectTable caption={`Limits of ${chosen.subject} ${chosen.name}`} rows={[rule.data]} />}
          <form
            class="create"
            aria-label="Set limits"
            onSubmit={(event) => {
              event.preventDefault()
              void act(() => session.json(path, { method: 'PUT', body: body() }))
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
            <button type="button" onClick={() => void act(() => session.json(`${path}/reset`, { method: 'POST' }))}>
              Reset counters
            </button>
            <ConfirmButton
              label="Delete these limits"
              text="Delete"
              onConfirm={() => void act(() => session.fetch(path, { method: 'DELETE' }))}
            />
          </span>
        </>
      )}
    </section>
  )
}

/** Which rules apply to a key or a user, and what is left of each. */
function Explain() {
  const [draft, setDraft] = useState({ by: 'user', name: '' })
  const [asked, setAsked] = useState<typeof draft | undefined>(undefined)
  const answer = useResource<unknown>(asked && `/admin/v1/limits/explain${query({ [asked.by]: asked.name.trim() })}`)
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
        <button type="submit">Explain</button>
      </form>
      <ErrorNote error={answer.error} />
      {answer.data !== undefined && <pre class="explain">{JSON.stringify(answer.data, null, 2)}</pre>}
    </section>
  )
}
