// Recent requests: one page of the request log, newest first, filtered by user, model, status or one request id
// (GET /admin/v1/usage/requests, cursor pages; CONTRACT.md). A caller without view_usage sees their own only.
import { useState } from 'preact/hooks'
import { query } from '../api.js'
import { count, ms, when } from '../format.js'
import { can, useSigned } from '../session.js'
import { ErrorNote, Field, Loading, Page, Pager, Table } from '../ui.js'
import { usePaged } from '../useResource.js'

interface RequestRow {
  request_id: string
  time: string
  user: string | null
  key_id: string | null
  route: string
  model: string | null
  backend: string | null
  status: number
  error_code: string | null
  prompt_tokens: number | null
  completion_tokens: number | null
  duration_ms: number | null
  queue_ms: number | null
}

export function Requests() {
  const { me } = useSigned()
  const everyone = can(me, 'view_usage')
  const empty = { user: '', model: '', status: '', request_id: '' }
  const [draft, setDraft] = useState(empty)
  const [filters, setFilters] = useState(empty)
  const list = usePaged<RequestRow>(
    `/admin/v1/usage/requests${query({ ...filters, user: everyone ? filters.user.trim() : undefined, limit: 100 })}`,
  )
  return (
    <Page title="Requests">
      <form
        class="filters"
        onSubmit={(event) => {
          event.preventDefault()
          setFilters({ ...draft, request_id: draft.request_id.trim(), model: draft.model.trim() })
        }}
      >
        {everyone && <Field label="User" value={draft.user} onInput={(user) => setDraft({ ...draft, user })} />}
        <Field label="Model" value={draft.model} onInput={(model) => setDraft({ ...draft, model })} />
        <Field
          label="Status"
          type="number"
          value={draft.status}
          onInput={(status) => setDraft({ ...draft, status })}
          placeholder="any (e.g. 429)"
        />
        <Field
          label="Request id"
          value={draft.request_id}
          onInput={(request_id) => setDraft({ ...draft, request_id })}
        />
        <button type="submit">Search</button>
      </form>
      <ErrorNote error={list.error} />
      <Loading when={list.loading && !list.data} />
      <Table
        caption="Recent requests"
        rows={list.items}
        empty="No request matches."
        columns={[
          { title: 'Time', value: (row) => when(row.time) },
          { title: 'Request id', value: (row) => <code>{row.request_id}</code> },
          { title: 'User', value: (row) => row.user ?? '–' },
          { title: 'Route', value: (row) => row.route },
          { title: 'Model', value: (row) => row.model ?? '–' },
          { title: 'Backend', value: (row) => row.backend ?? '–' },
          {
            title: 'Status',
            value: (row) => (row.error_code ? `${row.status} ${row.error_code}` : String(row.status)),
          },
          {
            title: 'Tokens',
            value: (row) => count((row.prompt_tokens ?? 0) + (row.completion_tokens ?? 0)),
            numeric: true,
          },
          { title: 'Queued', value: (row) => ms(row.queue_ms), numeric: true },
          { title: 'Duration', value: (row) => ms(row.duration_ms), numeric: true },
        ]}
      />
      <Pager pageNumber={list.pageNumber} previous={list.previous} next={list.next} />
    </Page>
  )
}
