// Attack (issue 12 review): a request waiting in the gateway for an upstream connection (upstream.connections all
// busy) whose client leaves had no undici controller yet, so cancelling it was put off until undici would start it —
// until a connection freed, up to timeouts.first_byte later. Meanwhile it held its caller's concurrency slot and wrote
// no usage row: a caller who gave up on a queued request was refused (429) when it tried again.
import t from 'tap'
import { request } from 'undici'
import { setTimeout as sleep } from 'node:timers/promises'
import { startRig } from '../helpers/gateway.js'

t.test('a queued request whose client left frees its slot and is recorded at once', async (t) => {
  const rig = await startRig(t, { upstream: { connections: 1 } })
  const { id, headers } = rig.addKey({ username: 'queued' })
  rig.gateway.store.limits.set({ subjectType: 'key', subject: id, gateway: '*', model: '', values: { concurrency: 1 } })
  rig.gateway.authenticator.pollChanges()
  const body = JSON.stringify({ model: 'llama3.2:3b', prompt: 'x', stream: false })
  // Another caller's request takes the only upstream connection and never gets an answer.
  const stalled = new AbortController()
  const holding = request(`${rig.url}/api/generate`, {
    method: 'POST',
    headers: { ...rig.headers, 'x-emulator-fault': 'stall' },
    body,
    signal: stalled.signal,
  }).catch(() => undefined)
  t.teardown(() => stalled.abort())
  while (rig.gateway.inFlight < 1) await sleep(10)
  const left = new AbortController()
  const queued = request(`${rig.url}/api/generate`, { method: 'POST', headers, body, signal: left.signal }).catch(
    () => undefined,
  )
  while (rig.gateway.inFlight < 2) await sleep(10)
  const ended = rig.nextEnd()
  left.abort()
  await queued
  const result = await ended
  t.equal(result.keyId, id, 'the queued request ended (its usage row) when its client left')
  t.ok(result.clientAborted, 'as left by its client')
  // (A route the gateway answers itself, under the same concurrency rule: the upstream connection is still taken.)
  const again = await request(`${rig.url}/auth/v1/me`, { headers })
  await again.body.dump()
  t.equal(again.statusCode, 200, 'its caller is not refused by the concurrency slot it held')
  stalled.abort()
  await holding
})
