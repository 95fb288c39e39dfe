// Slow and idle clients against the real gateway, counted: connections that send nothing, dribble a request head a
// line per second, or stall in the body are all closed by the server (this uWS build's fixed timeout, 8–12 s;
// docs/http.md "Slow and idle clients"), and a normal client is served while they are open and after.
import t from 'tap'
import { request } from 'undici'
import { openSlowClients, type SlowKind } from '../../bench/slowClients.js'
import { startRig } from '../helpers/gateway.js'

const perKind = 100

t.test(`${perKind} connections of each slow kind are all closed by the gateway; others are served`, async (t) => {
  const rig = await startRig(t)
  const kinds: SlowKind[] = ['silent', 'dribbled-head', 'stalled-body']
  const groups = kinds.map((kind) => openSlowClients('127.0.0.1', rig.gateway.port, perKind, kind, { dribble: true }))
  t.teardown(() => groups.forEach((group) => group.stop()))
  await Promise.all(groups.map((group) => group.ready))
  t.same(
    groups.map((group) => group.open),
    [perKind, perKind, perKind],
    'all open',
  )

  const during = await request(`${rig.url}/api/tags`, { headers: rig.headers })
  t.equal(during.statusCode, 200, 'a normal client is served while they are open')
  await during.body.dump()

  await Promise.all(groups.map((group) => group.allClosed))
  for (const [index, group] of groups.entries()) {
    t.equal(group.closedByServer, perKind, `${kinds[index]}: every connection closed by the gateway`)
    t.equal(group.opened, perKind, `${kinds[index]}: none reopened`)
  }
  const after = await request(`${rig.url}/api/tags`, { headers: rig.headers })
  t.equal(after.statusCode, 200, 'and after')
  await after.body.dump()
  const ended = rig.ended.filter((result) => result.route === 'generate')
  t.equal(ended.length, perKind, 'each stalled body ended as one request, no more')
  t.ok(
    ended.every(
      (result) => result.status === 401 && result.errorCode === 'missing_credential' && result.backend === null,
    ),
    'refused at authentication, before any body byte was read: no backend, no limit touched',
  )
})
