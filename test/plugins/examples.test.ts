// The two example plugins shipped in dist/ (what the RPM installs), loaded as an admin would name them: the header
// stamp on the reply, and the prompt redaction on what the backend receives, for native and OpenAI bodies.
import t from 'tap'
import { projectPath } from '../helpers/projectPath.js'
import { request } from 'undici'
import { startRig } from '../helpers/gateway.js'
import { startRawBackend } from '../helpers/rawBackend.js'

const example = (name: string) => projectPath(`dist/src/plugins/examples/${name}`)

t.test('prompt redaction rewrites what the backend receives, on both APIs; header stamp stamps', async (t) => {
  const backend = await startRawBackend()
  t.teardown(() => backend.close())
  const rig = await startRig(t, {
    backends: [{ url: backend.url, name: 'raw' }],
    plugins: [
      { module: example('promptRedaction.js'), options: { patterns: ['\\b\\d{3}-\\d{2}-\\d{4}\\b'] } },
      { module: example('headerStamp.js'), options: { header: 'x-served-by', value: 'node-a' } },
    ],
  })
  const cases: [string, string, unknown, (sent: any) => unknown][] = [
    [
      'native generate',
      '/api/generate',
      { model: 'm', prompt: 'mail ann@example.com, ssn 123-45-6789', system: 'bob@corp.io', stream: false },
      (sent) => [sent.prompt, sent.system],
    ],
    [
      'native chat',
      '/api/chat',
      { model: 'm', messages: [{ role: 'user', content: 'write to ann@example.com' }], stream: false },
      (sent) => [sent.messages[0].content],
    ],
    [
      'openai chat, content parts',
      '/v1/chat/completions',
      {
        model: 'm',
        messages: [
          { role: 'system', content: 'x@y.org knows' },
          { role: 'user', content: [{ type: 'text', text: 'call 123-45-6789 or ann@example.com' }] },
        ],
      },
      (sent) => [sent.messages[0].content, sent.messages[1].content[0].text],
    ],
    ['openai responses', '/v1/responses', { model: 'm', input: 'from ann@example.com' }, (sent) => [sent.input]],
  ]
  for (const [name, path, body, texts] of cases) {
    const ended = rig.nextEnd()
    const response = await request(`${rig.url}${path}`, {
      method: 'POST',
      headers: { ...rig.headers, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
    await response.body.text()
    await ended
    t.equal(response.statusCode, 200, name)
    t.equal(response.headers['x-served-by'], 'node-a', `${name}: stamped`)
    const sent = JSON.parse(backend.last!.body.toString())
    const received = texts(sent) as string[]
    t.notOk(
      received.join(' ').match(/@|\d{3}-\d{2}-\d{4}/),
      `${name}: nothing left to redact in ${received.join(' | ')}`,
    )
    t.ok(
      received.every((text) => text.includes('[redacted]')),
      `${name}: redacted`,
    )
    t.equal(sent.model, 'm', `${name}: the rest of the body is kept`)
  }
  // Nothing to redact: the client's bytes go on as they were (no rewrite, no re-serialisation).
  const plain = '{"model":"m",  "prompt":"nothing here", "stream":false}'
  const response = await request(`${rig.url}/api/generate`, { method: 'POST', headers: rig.headers, body: plain })
  await response.body.text()
  t.equal(backend.last!.body.toString(), plain, 'an untouched body is forwarded byte for byte')
  t.equal(rig.gateway.plugins.stats.rewrites, cases.length, 'one rewrite per redacted request')
  const metrics = await request(`${rig.url}/metrics`)
  const text = await metrics.body.text()
  t.match(text, `parallama_plugin_actions_total{action="rewrite"} ${cases.length}\n`, 'counted in /metrics')
  t.match(text, 'parallama_plugin_failures_total{kind="request"} 0\n')
})

t.test('the examples refuse bad options at start-up', async (t) => {
  await t.rejects(
    startRig(t, { plugins: [{ module: example('headerStamp.js'), options: { header: 'bad header' } }] }),
    { message: /headerStamp\.js: its factory failed: header-stamp: "bad header" is not a header name/ },
  )
})
