// The audit log: who did what to which object, from where, with what result, newest first, filtered by action or
// acting user (GET /admin/v1/audit, cursor pages; view_audit). Reading it is itself recorded by the gateway.
import { useState } from 'preact/hooks'
import { query } from '../api.js'
import { when } from '../format.js'
import { ErrorNote, Field, Loading, Page, Pager, Table } from '../ui.js'
import { usePaged } from '../useResource.js'

interface AuditRow {
  seq: number
  time: string
  action: string
  actor: {
    source: string
    user: string | null
    key_id: string | null
    client_ip: string | null
    os_user: string | null
    host: string | null
  }
  target: string | null
  result: string
  error: string | null
}

export function Audit() {
  const empty = { action: '', user: '' }
  const [draft, setDraft] = useState(empty)
  const [filters, setFilters] = useState(empty)
  const list = usePaged<AuditRow>(
    `/admin/v1/audit${query({ action: filters.action || undefined, user: filters.user || undefined, limit: 100 })}`,
  )
  return (
    <Page title="Audit log">
      <form
        class="filters"
        onSubmit={(event) => {
          event.preventDefault()
          setFilters({ action: draft.action.trim(), user: draft.user.trim() })
        }}
      >
        <Field
          label="Action"
          value={draft.action}
          onInput={(action) => setDraft({ ...draft, action })}
          placeholder="e.g. key.revoke"
        />
        <Field label="Acting user" value={draft.user} onInput={(user) => setDraft({ ...draft, user })} />
        <button type="submit">Search</button>
      </form>
      <ErrorNote error={list.error} />
      <Loading when={list.loading && !list.data} />
      <Table
        caption="Audit log"
        rows={list.items}
        empty="No audit row matches."
        columns={[
          { title: 'Seq', value: (row) => String(row.seq), numeric: true },
          { title: 'Time', value: (row) => when(row.time) },
          { title: 'Action', value: (row) => <code>{row.action}</code> },
          { title: 'Source', value: (row) => row.actor.source },
          { title: 'Actor', value: (row) => row.actor.user ?? row.actor.os_user ?? '–' },
          { title: 'From', value: (row) => row.actor.client_ip ?? row.actor.host ?? '–' },
          { title: 'Target', value: (row) => row.target ?? '–' },
          { title: 'Result', value: (row) => (row.error ? `${row.result} ${row.error}` : row.result) },
        ]}
      />
      <Pager pageNumber={list.pageNumber} previous={list.previous} next={list.next} />
    </Page>
  )
}
