// Usage: totals from the hourly rollups, grouped by day, hour, model, key or user (GET /admin/v1/usage), as a chart
// over time and a table, and the same report as a CSV file. A caller without view_usage sees their own only (the
// gateway narrows the query; the page does not offer other users).
import { useMemo, useState } from 'preact/hooks'
import { query } from '../api.js'
import { Chart } from '../Chart.js'
import { count } from '../format.js'
import { can, useSigned } from '../session.js'
import { ErrorNote, Field, Loading, Page, Select, Table } from '../ui.js'
import { asApiError, useResource } from '../useResource.js'
import type { ApiError } from '../api.js'

export interface ReportRow {
  group: string
  requests: number
  errors: number
  prompt_tokens: number
  completion_tokens: number
  cost: number
}

const periods = [
  ['24h', 'Last 24 hours'],
  ['7d', 'Last 7 days'],
  ['30d', 'Last 30 days'],
  ['90d', 'Last 90 days'],
] as const

export function Usage() {
  const { me, session } = useSigned()
  const everyone = can(me, 'view_usage')
  const groups: [string, string][] = [
    ['day', 'Day'],
    ['hour', 'Hour'],
    ['model', 'Model'],
    ['key', 'Key'],
  ]
  if (everyone) groups.push(['user', 'User'])
  const [by, setBy] = useState('day')
  const [since, setSince] = useState('7d')
  // Typed filters apply on submit, not per keystroke: one report per question.
  const [draft, setDraft] = useState({ user: '', model: '' })
  const [filters, setFilters] = useState({ user: '', model: '' })
  const user = everyone ? filters.user.trim() : undefined
  const path = `/admin/v1/usage${query({ by, since, user, model: filters.model.trim() })}`
  const { data, error, loading } = useResource<{ by: string; rows: ReportRow[] }>(path)
  const [exportError, setExportError] = useState<ApiError | undefined>(undefined)
  const download = async () => {
    setExportError(undefined)
    try {
      const response = await session.fetch(`${path}&format=csv`)
      saveFile(await response.blob(), `usage-by-${by}-${since}.csv`)
    } catch (failure) {
      setExportError(asApiError(failure))
    }
  }
  return (
    <Page
      title="Usage"
      actions={
        <button type="button" onClick={() => void download()}>
          Export CSV
        </button>
      }
    >
      <form
        class="filters"
        onSubmit={(event) => {
          event.preventDefault()
          setFilters(draft)
        }}
      >
        <Select label="Group by" value={by} options={groups} onChange={setBy} />
        <Select label="Period" value={since} options={periods} onChange={setSince} />
        {everyone && (
          <Field
            label="User"
            value={draft.user}
            onInput={(user) => setDraft({ ...draft, user })}
            placeholder="everyone"
          />
        )}
        <Field
          label="Model"
          value={draft.model}
          onInput={(model) => setDraft({ ...draft, model })}
          placeholder="every model"
        />
        <button type="submit">Apply</button>
      </form>
      <ErrorNote error={error ?? exportError} />
      <Loading when={loading && !data} />
      {data && <Report by={data.by} rows={data.rows} since={since} />}
    </Page>
  )
}

function Report(props: { by: string; rows: ReportRow[]; since: string }) {
  const overTime = props.by === 'day' || props.by === 'hour'
  const chart = useMemo(() => {
    const buckets = overTime ? everyBucket(props.rows, props.by, periodMs[props.since] ?? 7 * dayMs) : []
    const pick = (field: 'requests' | 'errors' | 'prompt_tokens' | 'completion_tokens') =>
      buckets.map(([, row]) => row?.[field] ?? 0)
    return {
      times: buckets.map(([time]) => time / 1000),
      series: [
        { label: 'Requests', values: pick('requests'), color: '#3b82f6' },
        { label: 'Errors', values: pick('errors'), color: '#dc2626' },
      ],
      tokens: [
        { label: 'Prompt tokens', values: pick('prompt_tokens'), color: '#8b5cf6' },
        { label: 'Completion tokens', values: pick('completion_tokens'), color: '#059669' },
      ],
    }
  }, [props.rows, props.by, props.since, overTime])
  return (
    <>
      {overTime && props.rows.length > 0 && (
        <div class="charts">
          <Chart title="Requests" times={chart.times} series={chart.series} />
          <Chart title="Tokens" times={chart.times} series={chart.tokens} />
        </div>
      )}
      <Table
        caption={`Usage by ${props.by}`}
        rows={props.rows}
        empty="No usage in this period."
        columns={[
          { title: props.by[0]!.toUpperCase() + props.by.slice(1), value: (row) => row.group },
          { title: 'Requests', value: (row) => count(row.requests), numeric: true },
          { title: 'Errors', value: (row) => count(row.errors), numeric: true },
          { title: 'Prompt tokens', value: (row) => count(row.prompt_tokens), numeric: true },
          { title: 'Completion tokens', value: (row) => count(row.completion_tokens), numeric: true },
          { title: 'Cost', value: (row) => row.cost.toFixed(4), numeric: true },
        ]}
      />
    </>
  )
}

const hourMs = 3_600_000
const dayMs = 24 * hourMs
const periodMs: Record<string, number> = { '24h': dayMs, '7d': 7 * dayMs, '30d': 30 * dayMs, '90d': 90 * dayMs }

/**
 * Every hour or day of the period, oldest first, with its row or none: an hour without requests is drawn as zero,
 * and the time axis spans the period asked for, not only the buckets that had traffic.
 */
function everyBucket(rows: ReportRow[], by: string, period: number): [number, ReportRow | undefined][] {
  const size = by === 'day' ? dayMs : hourMs
  const byTime = new Map(rows.map((row) => [Date.parse(by === 'day' ? `${row.group}T00:00:00Z` : row.group), row]))
  const last = Math.floor(Date.now() / size) * size
  const buckets: [number, ReportRow | undefined][] = []
  for (let time = Math.floor((Date.now() - period) / size) * size; time <= last; time += size) {
    buckets.push([time, byTime.get(time)])
  }
  return buckets
}

/** Hands a downloaded body to the browser as a file (the call needed the access token, so no plain link). */
export function saveFile(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob)
  const link = document.createElement('a')
  link.href = url
  link.download = name
  link.click()
  setTimeout(() => URL.revokeObjectURL(url), 1000)
}
