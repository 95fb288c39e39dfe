// The dashboard's usage views end to end (real gateway, emulator, SQLite file): the overview's series and "now", the
// usage report as CSV with formula cells defused, and recent requests filtered and paged by cursor — each caller
// seeing only what their role allows, each bad parameter a 400 that names it.
import t from 'tap'
import { request } from 'undici'
import { startRig, type Rig } from '../helpers/gateway.js'

async function get(rig: Rig, path: string, headers: Record<string, string> = rig.headers) {
  const response = await request(`${rig.url}${path}`, { headers })
  const text = await response.body.text()
  const type = String(response.headers['content-type'])
  return { status: response.statusCode, type, text, body: type.includes('json') ? JSON.parse(text) : undefined }
}

type Point = Record<'requests' | 'errors' | 'prompt_tokens' | 'completion_tokens', number> & { time: string }

function total(series: Point[], field: keyof Point): number {
  return series.reduce((sum, point) => sum + Number(point[field]), 0)
}

async function generate(rig: Rig, model: string, headers: Record<string, string>, requestId: string) {
  const response = await request(`${rig.url}/api/generate`, {
    method: 'POST',
    body: JSON.stringify({ model, prompt: 'a b c', stream: false }),
    headers: { ...headers, 'x-request-id': requestId },
  })
  await response.body.dump()
  return response.statusCode
}

t.test('overview, CSV report and recent requests', async (t) => {
  const rig = await startRig(t)
  const ann = rig.addKey({ username: 'ann' })
  t.equal(await generate(rig, 'llama3.2:3b', rig.headers, 'admin-1'), 200)
  t.equal(await generate(rig, 'qwen2.5:0.5b', rig.headers, 'admin-2'), 200)
  t.equal(await generate(rig, 'missing:1b', rig.headers, 'admin-missing'), 404)
  t.equal(await generate(rig, 'llama3.2:3b', ann.headers, 'ann-1'), 200)
  // Not a model anywhere (404), but its row names it: a report groups by it.
  t.equal(await generate(rig, '=HYPERLINK(1)', ann.headers, 'ann-formula'), 404)
  // Every view waits for the writer up to 2 s; a loaded machine may take longer: the rows are written before any view.
  await rig.gateway.accounting.recorder.drain()

  t.test('overview: every hour of the last day, the requests in the last one, nothing running now', async (t) => {
    const { status, body } = await get(rig, '/admin/v1/overview')
    t.equal(status, 200)
    t.equal(body.step, 'hour')
    t.ok(body.series.length === 24 || body.series.length === 25, `${body.series.length} hours`)
    // The requests fall in the last hour, or the two last when the test runs across the hour.
    const busy = body.series.filter((point: Point) => point.requests > 0)
    t.ok(busy.length >= 1 && busy.length <= 2, `${busy.length} hours with requests`)
    t.equal(total(body.series, 'requests'), 5)
    t.equal(total(body.series, 'errors'), 2)
    t.match(busy[0], { latency_p50_ms: Number, latency_p95_ms: Number })
    t.ok(total(body.series, 'prompt_tokens') > 0 && total(body.series, 'completion_tokens') > 0)
    // The backend's state is the one GET /backends shows: both read it after a first health check.
    const backends = await get(rig, '/admin/v1/backends')
    const state = backends.body.items[0].state
    t.same(body.now, { in_flight: 0, queued: 0, backends: [{ name: 'emulator', state }] })
    t.equal(new Date(busy[0].time).getTime() % 3_600_000, 0, 'steps start on the hour')

    const minutes = await get(rig, '/admin/v1/overview?step=minute&since=1h')
    t.ok(minutes.body.series.length >= 60 && minutes.body.series.length <= 61)
    t.equal(total(minutes.body.series, 'requests'), 5)
    const own = await get(rig, '/admin/v1/overview', ann.headers)
    t.equal(total(own.body.series, 'requests'), 2, 'ann sees her own requests only')
    t.match(await get(rig, '/admin/v1/overview?user=admin', ann.headers), { status: 403 })
    t.equal(total((await get(rig, '/admin/v1/overview?user=ann')).body.series, 'requests'), 2)
    t.match(await get(rig, '/admin/v1/overview?step=minute&since=2d'), { status: 400, body: { detail: /24h/ } })
    t.match(await get(rig, '/admin/v1/overview?step=week'), { status: 400, body: { detail: /"step"/ } })
    t.match(await get(rig, '/admin/v1/overview?since=400d'), { status: 400, body: { detail: /366 days/ } })
  })

  t.test('the usage report as CSV: a header, a row per group, formula cells defused', async (t) => {
    const csv = await get(rig, '/admin/v1/usage?by=model&format=csv')
    t.equal(csv.status, 200)
    t.match(csv.type, /^text\/csv/)
    const lines = csv.text.trimEnd().split('\r\n')
    t.equal(lines[0], 'group,requests,errors,prompt_tokens,completion_tokens,cost')
    const json = await get(rig, '/admin/v1/usage?by=model')
    t.equal(lines.length - 1, json.body.rows.length, 'the same rows as JSON')
    const formula = lines.find((line) => /hyperlink/i.test(line))
    t.ok(formula?.startsWith("'="), `never a live formula: ${formula} in ${csv.text}`)
    t.match(await get(rig, '/admin/v1/usage?format=xml'), { status: 400, body: { detail: /"format"/ } })
  })

  t.test('recent requests: newest first, filtered, paged by cursor', async (t) => {
    const all = await get(rig, '/admin/v1/usage/requests')
    t.equal(all.status, 200)
    const ids = all.body.items.map((item: { request_id: string }) => item.request_id)
    t.same(ids, ['ann-formula', 'ann-1', 'admin-missing', 'admin-2', 'admin-1'])
    t.equal(all.body.next_cursor, null, 'the window holds nothing more')

    const paged: string[] = []
    let cursor: string | null = ''
    while (cursor !== null) {
      const page = await get(rig, `/admin/v1/usage/requests?limit=2${cursor ? `&cursor=${cursor}` : ''}`)
      t.ok(page.body.items.length <= 2)
      paged.push(...page.body.items.map((item: { request_id: string }) => item.request_id))
      cursor = page.body.next_cursor
    }
    t.same(paged, ids, 'pages of 2 give the same rows, each once')

    const only = async (query: string, headers?: Record<string, string>) =>
      (await get(rig, `/admin/v1/usage/requests?${query}`, headers)).body.items.map(
        (item: { request_id: string }) => item.request_id,
      )
    t.same(await only('user=ann'), ['ann-formula', 'ann-1'])
    t.same(await only('model=llama3.2:3b'), ['ann-1', 'admin-1'])
    t.same(await only('model=llama3.2:3b&user=admin'), ['admin-1'])
    t.same(await only('status=4xx'), ['ann-formula', 'admin-missing'])
    t.same(await only('status=404&user=admin'), ['admin-missing'])
    t.same(await only('status=error&user=ann'), ['ann-formula'])
    t.same(await only('status=200'), ['ann-1', 'admin-2', 'admin-1'])
    t.same(await only('request_id=admin-2'), ['admin-2'])
    t.same(await only('request_id=nowhere'), [])
    t.same(await only('', ann.headers), ['ann-formula', 'ann-1'], 'ann sees her own')
    t.same(await only('request_id=admin-2', ann.headers), [], "and finds nobody else's")
    t.match(await get(rig, '/admin/v1/usage/requests?user=admin', ann.headers), { status: 403 })
    t.match(await get(rig, '/admin/v1/usage/requests?status=5x'), { status: 400, body: { detail: /"status"/ } })
    t.match(await get(rig, '/admin/v1/usage/requests?cursor=bm9wZQ'), { status: 400, body: { detail: /"cursor"/ } })
    t.match(await get(rig, '/admin/v1/usage/requests?limit=1.5'), { status: 400, body: { detail: /"limit"/ } })
  })
})
