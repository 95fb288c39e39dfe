// The SQL of a usage report: totals grouped by hour, day, model, user, key or API over a window, from the rollups.
// The days wholly inside the window come from usage_daily and only the partial days at its ends from usage_hourly
// (migration 010), so a month's report reads about 30 rows per user/key/model combination, not 720 — the hourly rollups
// of a busy gateway hold nearly a row per request.
import type { GroupBy, UsageFilter } from './usage.js'

const hourMs = 3_600_000
const dayMs = 86_400_000

/** What rows are grouped by: a number or a name as stored (formatting or joining every rollup row would cost more). */
const groupKey: Record<GroupBy, string> = {
  hour: 'start',
  day: `start - start % ${dayMs}`,
  model: 'model',
  user: 'user_id',
  key: 'key_id',
  api: 'api',
}

/** How each group is named in the answer: once per group, after the sums. */
const groupName: Record<GroupBy, string> = {
  hour: `strftime('%Y-%m-%dT%H:00Z', g.k / 1000, 'unixepoch')`,
  day: `strftime('%Y-%m-%d', g.k / 1000, 'unixepoch')`,
  model: 'g.k',
  user: `COALESCE(u.username, CASE g.k WHEN 0 THEN '(anonymous)' ELSE '#' || g.k END)`,
  key: 'g.k',
  api: 'g.k',
}

const sums = 'requests, errors, prompt_tokens, completion_tokens, cost'

export function reportSql(filter: UsageFilter, by: GroupBy): { sql: string; params: Record<string, unknown> } {
  // Rollups are hourly: an hour counts when it starts inside the window.
  const since = filter.since === undefined ? 0 : filter.since - (filter.since % hourMs)
  const until = filter.until ?? Number.MAX_SAFE_INTEGER
  // Whole days: a day counts from usage_daily when all its hours start inside the window.
  const dayFrom = Math.ceil(since / dayMs) * dayMs
  const dayTo = filter.until === undefined ? Number.MAX_SAFE_INTEGER : filter.until - (filter.until % dayMs)
  const params: Record<string, unknown> = { since, until, dayFrom, dayTo }
  const narrow: string[] = []
  const add = (name: keyof UsageFilter, clause: string) => {
    if (filter[name] === undefined) return
    narrow.push(clause)
    params[name] = filter[name]
  }
  add('userId', 'user_id = @userId')
  add('keyId', 'key_id = @keyId')
  add('model', 'model = @model')
  add('api', 'api = @api')
  const part = (table: string, column: string, from: string, to: string) =>
    `SELECT ${column} AS start, user_id, key_id, model, api, ${sums} FROM ${table}
     WHERE ${[`${column} >= ${from}`, `${column} < ${to}`, ...narrow].join(' AND ')}`
  const parts =
    by === 'hour' || dayFrom >= dayTo
      ? [part('usage_hourly', 'hour', '@since', '@until')]
      : [
          part('usage_daily', 'day', '@dayFrom', '@dayTo'),
          part('usage_hourly', 'hour', '@since', '@dayFrom'),
          part('usage_hourly', 'hour', '@dayTo', '@until'),
        ]
  const grouped = `SELECT ${groupKey[by]} AS k, SUM(requests) AS requests, SUM(errors) AS errors,
      SUM(prompt_tokens) AS prompt_tokens, SUM(completion_tokens) AS completion_tokens, SUM(cost) AS cost
    FROM (${parts.join('\n    UNION ALL ')}) GROUP BY 1`
  const sql = `SELECT ${groupName[by]} AS "group", g.requests, g.errors, g.prompt_tokens, g.completion_tokens, g.cost
    FROM (${grouped}) g ${by === 'user' ? 'LEFT JOIN users u ON u.id = g.k' : ''}
    ORDER BY ${by === 'hour' || by === 'day' ? 'g.k' : 'g.prompt_tokens + g.completion_tokens DESC, 1'}`
  return { sql, params }
}
