// Overview: requests, errors, tokens and latency over time from the rollups, what runs and waits now, and each
// backend's state — one call, GET /admin/v1/overview (CONTRACT.md).
import { useMemo, useState } from 'preact/hooks'
import { query } from '../api.js'
import { Chart } from '../Chart.js'
import { count, epochSeconds, ms } from '../format.js'
import { ErrorNote, Loading, Page, Select } from '../ui.js'
import { useResource } from '../useResource.js'

interface OverviewPoint {
  time: string
  requests: number
  errors: number
  prompt_tokens: number
  completion_tokens: number
  latency_p50_ms: number | null
  latency_p95_ms: number | null
}

export interface OverviewBody {
  series: OverviewPoint[]
  now: { in_flight: number; queued: number; backends: { name: string; state: string }[] }
}

const windows = [
  ['24h:hour', 'Last 24 hours, by hour'],
  ['7d:hour', 'Last 7 days, by hour'],
  ['1h:minute', 'Last hour, by minute'],
] as const

export function Overview() {
  const [period, setPeriod] = useState<string>(windows[0][0])
  const [since, step] = period.split(':')
  const { data, error, loading } = useResource<OverviewBody>(`/admin/v1/overview${query({ since, step })}`)
  return (
    <Page title="Overview" actions={<Select label="Period" value={period} options={windows} onChange={setPeriod} />}>
      <ErrorNote error={error} />
      <Loading when={loading && !data} />
      {data && <Now now={data.now} />}
      {data && <Series points={data.series} />}
    </Page>
  )
}

function Now(props: { now: OverviewBody['now'] }) {
  return (
    <div class="cards" aria-label="Now">
      <div class="card">
        <span class="card-label">In flight</span>
        <span class="card-value" data-testid="in-flight">
          {count(props.now.in_flight)}
        </span>
      </div>
      <div class="card">
        <span class="card-label">Queued</span>
        <span class="card-value" data-testid="queued">
          {count(props.now.queued)}
        </span>
      </div>
      <div class="card wide">
        <span class="card-label">Backends</span>
        <ul class="backends">
          {props.now.backends.map((backend) => (
            <li>
              <span class={`state state-${backend.state}`}>{backend.state}</span> {backend.name}
            </li>
          ))}
        </ul>
      </div>
    </div>
  )
}

function Series(props: { points: OverviewPoint[] }) {
  const charts = useMemo(() => {
    const times = props.points.map((point) => epochSeconds(point.time))
    const pick = (field: keyof OverviewPoint) => props.points.map((point) => point[field] as number | null)
    return {
      times,
      traffic: [
        { label: 'Requests', values: pick('requests'), color: '#3b82f6' },
        { label: 'Errors', values: pick('errors'), color: '#dc2626' },
      ],
      tokens: [
        { label: 'Prompt tokens', values: pick('prompt_tokens'), color: '#8b5cf6' },
        { label: 'Completion tokens', values: pick('completion_tokens'), color: '#059669' },
      ],
      latency: [
        { label: 'p50', values: pick('latency_p50_ms'), color: '#0891b2' },
        { label: 'p95', values: pick('latency_p95_ms'), color: '#d97706' },
      ],
    }
  }, [props.points])
  const total = props.points.reduce((sum, point) => sum + point.requests, 0)
  const errors = props.points.reduce((sum, point) => sum + point.errors, 0)
  return (
    <>
      <p data-testid="overview-totals">
        {count(total)} requests, {count(errors)} errors in this period.
      </p>
      <div class="charts">
        <Chart title="Requests and errors" times={charts.times} series={charts.traffic} />
        <Chart title="Tokens" times={charts.times} series={charts.tokens} />
        <Chart title="Latency (ms)" times={charts.times} series={charts.latency} />
      </div>
      <details>
        <summary>The numbers</summary>
        <table>
          <caption>Per period</caption>
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col" class="num">
                Requests
              </th>
              <th scope="col" class="num">
                Errors
              </th>
              <th scope="col" class="num">
                Tokens
              </th>
              <th scope="col" class="num">
                p50
              </th>
              <th scope="col" class="num">
                p95
              </th>
            </tr>
          </thead>
          <tbody>
            {props.points.map((point) => (
              <tr>
                <td>{new Date(point.time).toLocaleString()}</td>
                <td class="num">{count(point.requests)}</td>
                <td class="num">{count(point.errors)}</td>
                <td class="num">{count(point.prompt_tokens + point.completion_tokens)}</td>
                <td class="num">{ms(point.latency_p50_ms)}</td>
                <td class="num">{ms(point.latency_p95_ms)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </>
  )
}
