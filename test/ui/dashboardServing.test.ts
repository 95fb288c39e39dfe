// /ui/ from the real gateway: the page and its hashed assets with their cache rules and Content-Security-Policy,
// HEAD, revalidation, gzip, 404 for names not in the build (whatever the path tries), 405 for other methods. And the
// build itself: hashed names, no inline script or style, the JavaScript within its gzipped budget.
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import t from 'tap'
import { request } from 'undici'
import { dashboardCsp, dashboardDir } from '../../src/api/dashboard.js'
import { buildDashboard, jsBudgetBytes } from '../../src/ui/build.js'
import { startRig } from '../helpers/gateway.js'
import { rawExchange } from '../helpers/rawHttp.js'

t.test('the build: hashed names, no inline script or style, JavaScript within budget', async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'parallama-ui-'))
  const built = await buildDashboard(out)
  t.ok(built.jsGzipBytes > 0 && built.jsGzipBytes <= jsBudgetBytes, `JS ${built.jsGzipBytes} B gzipped`)
  for (const name of built.files.filter((file) => file !== 'index.html')) {
    t.match(name, /^[a-z]+-[A-Z0-9]{8}\.(js|css)$/, `${name} carries its content hash`)
  }
  const page = readFileSync(join(out, 'index.html'), 'utf8')
  t.notMatch(page, /<script(?![^>]*\bsrc=)[^>]*>/, 'every script is a file')
  t.notMatch(page, /<style|style=/, 'no inline style')
  t.notMatch(page, /https?:\/\//, 'nothing from another origin')
})

t.test('the gateway serves the built dashboard', async (t) => {
  const rig = await startRig(t)
  const url = (path: string) => `${rig.url}${path}`
  const page = await request(url('/ui/'))
  const html = await page.body.text()
  t.equal(page.statusCode, 200)
  t.equal(page.headers['content-type'], 'text/html; charset=utf-8')
  t.equal(page.headers['cache-control'], 'no-cache', 'the page is revalidated: a new build is seen at once')
  t.equal(page.headers['content-security-policy'], dashboardCsp)
  t.notMatch(dashboardCsp, /unsafe-inline|unsafe-eval/)
  t.equal(page.headers['x-content-type-options'], 'nosniff')
  const script = /src="([^"]+\.js)"/.exec(html)![1]!
  const style = /href="([^"]+\.css)"/.exec(html)![1]!

  t.test('hashed assets: a year, immutable, the right type, gzipped when asked', async (t) => {
    const asset = await request(url(`/ui/${script}`), { headers: { 'accept-encoding': 'gzip' } })
    const body = Buffer.from(await asset.body.arrayBuffer())
    t.equal(asset.statusCode, 200)
    t.equal(asset.headers['cache-control'], 'public, max-age=31536000, immutable')
    t.equal(asset.headers['content-type'], 'text/javascript; charset=utf-8')
    t.equal(asset.headers['content-encoding'], 'gzip')
    t.same(gunzipSync(body), readFileSync(join(dashboardDir(), script)))
    const css = await request(url(`/ui/${style}`))
    t.equal(css.headers['content-type'], 'text/css; charset=utf-8')
    t.equal(css.headers['content-encoding'], undefined, 'plain for a client that does not ask for gzip')
    await css.body.dump()
  })

  t.test('HEAD: the same head, no body; If-None-Match: 304', async (t) => {
    const head = await request(url('/ui/'), { method: 'HEAD' })
    t.equal(head.statusCode, 200)
    t.equal(head.headers['content-length'], String(Buffer.byteLength(html)))
    t.equal(await head.body.text(), '')
    const again = await request(url('/ui/'), { headers: { 'if-none-match': page.headers.etag as string } })
    t.equal(again.statusCode, 304)
    t.equal(await again.body.text(), '')
  })

  t.test('/ui redirects to /ui/; other methods 405; unknown names 404 as problem details', async (t) => {
    const bare = await request(url('/ui'))
    t.equal(bare.statusCode, 308)
    t.equal(bare.headers.location, '/ui/')
    await bare.body.dump()
    const post = await request(url('/ui/'), { method: 'POST', body: '{}' })
    t.equal(post.statusCode, 405)
    t.equal(post.headers.allow, 'GET, HEAD')
    await post.body.dump()
    const missing = await request(url('/ui/nothing-here.js'))
    t.equal(missing.statusCode, 404)
    t.equal(missing.headers['content-type'], 'application/problem+json')
    t.match(await missing.body.json(), { code: 'not_found', detail: /no file \/ui\/nothing-here\.js/ })
  })

  t.test('a path that climbs out of /ui/ gets nothing from outside it', async (t) => {
    const tries = [
      '/ui/../package.json',
      '/ui/%2e%2e/package.json',
      '/ui/..%2fpackage.json',
      '/ui/assets/../../src/server.ts',
      '/ui//etc/passwd',
      '/ui/..\\package.json',
      `/ui/./${script}`,
    ]
    for (const path of tries) {
      const answer = await rawExchange(rig.gateway.port, `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)
      const status = /^HTTP\/1\.1 (\d{3})/.exec(answer.text)?.[1]
      t.not(status, '200', `${path} answers ${status}`)
      t.notMatch(answer.text, /"name": "parallama"|root:x:0/, `${path} shows no file outside the dashboard`)
    }
  })
})
