// The cache's administration: `parallama cache stats|purge` on the database file of a running server (the purge
// reaches its memory tier), /admin/v1/cache (numbers, purges, permissions, bad input), and the audit rows of purges.
import t from 'tap'
import { request } from 'undici'
import { runCli } from '../helpers/cli.js'
import { ask, chatModel, startCacheRig } from '../helpers/cacheRig.js'
import type { Rig } from '../helpers/gateway.js'

const body = { model: chatModel, messages: [{ role: 'user', content: 'hi' }], stream: false, options: { seed: 5 } }
const embed = { model: 'nomic-embed-text:latest', input: 'x' }

async function admin(rig: Rig, method: 'GET' | 'DELETE', query = '', headers = rig.headers) {
  const response = await request(`${rig.url}/admin/v1/cache${query}`, { method, headers })
  return { status: response.statusCode, body: (await response.body.json()) as Record<string, any> }
}

function auditRows(rig: Rig) {
  return rig.gateway.store.db
    .prepare("SELECT source, target, after, result FROM audit_log WHERE action = 'cache.purge' ORDER BY seq")
    .all() as { source: string; target: string; after: string | null; result: string }[]
}

t.test('the CLI reads the persistent tier and purges it, and the purge reaches the running server', async (t) => {
  const rig = await startCacheRig(t, { persist: true })
  const db = rig.config.database.path
  const alice = rig.addKey({ username: 'alice' })
  await ask(rig, '/api/chat', body, alice.headers)
  await ask(rig, '/api/embed', embed, alice.headers)
  await ask(rig, '/api/chat', body)
  const stats = await runCli(['cache', 'stats', '--db', db, '--json'])
  t.equal(stats.code, 0, stats.stderr)
  t.match(JSON.parse(stats.stdout), { persistent: { entries: 3, expired: 0 } })
  const table = await runCli(['cache', 'stats', '--db', db])
  t.match(table.stderr, /GET \/admin\/v1\/cache/, 'says where the live numbers are')

  const purged = await runCli(['cache', 'purge', '--db', db, '--model', 'llama3.2:3b', '--user', 'alice', '--json'])
  t.equal(purged.code, 0, purged.stderr)
  t.same(JSON.parse(purged.stdout), { model: chatModel, user: 'alice', persistent: 1, memory: null })
  rig.gateway.authenticator.pollChanges()
  t.equal((await ask(rig, '/api/chat', body, alice.headers)).cache, 'miss', 'gone from the server’s memory too')
  t.equal((await ask(rig, '/api/embed', embed, alice.headers)).cache, 'hit', 'another model’s entry stays')
  t.equal((await ask(rig, '/api/chat', body)).cache, 'hit', 'another user’s entry stays')
  t.match(auditRows(rig).at(-1), { source: 'cli', target: `cache:${chatModel}/alice`, result: 'ok' })

  const unknown = await runCli(['cache', 'purge', '--db', db, '--user', 'nobody'])
  t.equal(unknown.code, 1)
  t.match(unknown.stderr, /nobody|no such user/)
  t.match(auditRows(rig).at(-1), { result: 'failed' }, 'a refused purge is recorded as failed')
  const twice = await runCli(['cache', 'purge', '--db', db, '--model', 'a', '--model', 'b'])
  t.equal(twice.code, 2)
})

t.test('/admin/v1/cache: the numbers, purges, who may, and bad input', async (t) => {
  const rig = await startCacheRig(t)
  await ask(rig, '/api/chat', body)
  await ask(rig, '/api/chat', body)
  await ask(rig, '/api/chat', { ...body, options: {} })
  const stats = await admin(rig, 'GET')
  t.equal(stats.status, 200)
  t.match(stats.body, {
    enabled: true,
    memory: { hits: 1, misses: 1, stores: 1, bypasses: { not_deterministic: 1 }, entries: 1 },
    persistent: null,
  })
  t.ok(stats.body.memory.bytes > 0)

  const user = rig.addKey()
  t.equal((await admin(rig, 'GET', '', user.headers)).status, 403, 'stats need view_usage')
  t.equal((await admin(rig, 'DELETE', '', user.headers)).status, 403, 'purges need manage_models')
  const bad = await admin(rig, 'DELETE', '?modle=x')
  t.equal(bad.status, 400)
  t.match(bad.body, { code: 'invalid_request', detail: /modle/ })
  t.equal((await admin(rig, 'DELETE', '?user=ghost')).status, 404)

  const purged = await admin(rig, 'DELETE', '?model=llama3.2:3b')
  t.equal(purged.status, 200)
  t.same(purged.body, { model: chatModel, user: null, persistent: 0, memory: 1 })
  t.equal((await ask(rig, '/api/chat', body)).cache, 'miss')
  const rows = auditRows(rig)
  t.match(rows.at(-1), { source: 'api', target: `cache:${chatModel}/*`, result: 'ok' })

  const metrics = await request(`${rig.url}/metrics`)
  const text = await metrics.body.text()
  t.match(text, /parallama_cache_lookups_total\{result="hit",reason=""\} 1/)
  t.match(text, /parallama_cache_lookups_total\{result="bypass",reason="not_deterministic"\} 1/)
  t.match(text, /parallama_cache_entries 1/)
  const generated = /^parallama_completion_tokens_total\{[^}]*\} (\d+)$/m.exec(text)
  t.equal(Number(generated?.[1]), 3 * 32, 'tokens Ollama counted: the three forwarded replies, not the hit')
})

t.test('with the cache off, the admin route says so and the CLI still purges the file', async (t) => {
  const rig = await startCacheRig(t, { enabled: false })
  t.same((await admin(rig, 'GET')).body, { enabled: false, memory: null, persistent: null })
  t.equal((await ask(rig, '/api/chat', body)).cache, undefined, 'no header without the cache')
  t.same((await admin(rig, 'DELETE')).body, { model: null, user: null, persistent: 0, memory: null })
})
