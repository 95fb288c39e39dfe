// Attack (issue 12 review): finish hands a request's result to its consumers in turn (usage row, the embedder's hook,
// metrics, the log line, events, plugins' onEnd). One that threw stopped the rest — no log line, no metrics, no
// request.failed — and the throw went up into undici's end-of-response callback, which then reported the finished
// upstream response as lost: a stream the client had received whole got a "connection lost mid-response" error line
// after its final object. A consumer's failure must stay its own.
import t from 'tap'
import { request } from 'undici'
import { startRig } from '../helpers/gateway.js'

t.test('a consumer that throws costs no other consumer and no reply', async (t) => {
  let calls = 0
  const rig = await startRig(
    t,
    {},
    {},
    {},
    {
      stages: (built) => ({
        ...built,
        finish: {
          ...built.finish,
          // The rig's own hook (which the test waits on) runs, then this one throws.
          hook: (result) => {
            built.finish.hook?.(result)
            calls++
            throw new Error('consumer failed')
          },
        },
      }),
    },
  )
  for (const stream of [false, true]) {
    const ended = rig.nextEnd()
    const response = await request(`${rig.url}/api/generate`, {
      method: 'POST',
      headers: { ...rig.headers, 'x-request-id': `throwing-${stream}` },
      body: JSON.stringify({ model: 'llama3.2:3b', prompt: 'x', stream }),
    })
    const lines = (await response.body.text()).trim().split('\n')
    t.equal(response.statusCode, 200)
    const last = JSON.parse(lines.at(-1)!) as { done?: boolean; error?: string }
    t.equal(last.done, true, `stream=${stream}: the reply ends with its final object, no error after it`)
    t.notOk(
      lines.some((line) => line.includes('"error"')),
      `stream=${stream}: no error line in a complete reply`,
    )
    await ended
  }
  t.equal(calls, 2, 'the throwing consumer ran for each request')
  for (const stream of [false, true]) {
    const id = `throwing-${stream}`
    t.ok(
      rig.logs.some((line) => line.includes('"msg":"request"') && line.includes(`"request_id":"${id}"`)),
      `${id}: the request's log line (a later consumer) is written`,
    )
    t.ok(
      rig.logs.some(
        (line) => line.includes('"level":"error"') && line.includes(id) && line.includes('consumer failed'),
      ),
      `${id}: the consumer's failure is logged with the request id`,
    )
  }
})
