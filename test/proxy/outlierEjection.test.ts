// Outlier ejection with a fake clock: eject_after failures in a row eject, the cooldown doubles with each ejection in a
// row up to the cap, the half-open probe decides (success: back, from the base cooldown; failure: out again, doubled),
// and backend.down / backend.up are announced once per change, together with the health checks.
import t from 'tap'
import { Pool } from 'undici'
import type { GatewayEvent } from '../../src/events/events.js'
import { EventBus } from '../../src/events/eventBus.js'
import { Backend } from '../../src/proxy/backends.js'
import { OutlierEjection } from '../../src/proxy/outlierEjection.js'

const settings = { eject_after: 2, eject_cooldown: 1000, eject_cooldown_max: 5000 }

t.test('two failures in a row eject; a success between them does not', async (t) => {
  const ejection = new OutlierEjection(() => settings)
  t.equal(ejection.recordFailure(0), undefined)
  ejection.recordSuccess()
  t.equal(ejection.recordFailure(10), undefined, 'the success reset the count')
  t.equal(ejection.recordFailure(20), 'ejected')
  t.ok(ejection.coolingDown(20))
  t.ok(ejection.coolingDown(1019))
  t.notOk(ejection.coolingDown(1020), 'the cooldown ends')
  t.ok(ejection.halfOpen(1020), 'then half-open')
})

t.test('each failed probe doubles the cooldown, up to the cap; a good probe starts again from the base', async (t) => {
  const ejection = new OutlierEjection(() => settings)
  let now = 0
  ejection.recordFailure(now)
  ejection.recordFailure(now)
  const cooldowns = [ejection.cooldownMs]
  for (let i = 0; i < 5; i++) {
    now = ejection.ejectedUntil
    t.ok(ejection.halfOpen(now))
    t.equal(ejection.recordFailure(now), undefined, 'a failed probe announces nothing new (still out)')
    cooldowns.push(ejection.cooldownMs)
  }
  t.same(cooldowns, [1000, 2000, 4000, 5000, 5000, 5000])
  now = ejection.ejectedUntil
  t.equal(ejection.recordSuccess(), 'returned')
  t.notOk(ejection.out)
  ejection.recordFailure(now)
  ejection.recordFailure(now)
  t.equal(ejection.cooldownMs, 1000, 'the next ejection starts from eject_cooldown')
})

t.test('a failure of a request sent before the ejection does not extend it', async (t) => {
  const ejection = new OutlierEjection(() => settings)
  ejection.recordFailure(0)
  ejection.recordFailure(0)
  ejection.recordFailure(500)
  t.equal(ejection.ejectedUntil, 1000)
  t.equal(ejection.cooldownMs, 1000)
})

t.test('a cap below the base cooldown means no doubling', async (t) => {
  const ejection = new OutlierEjection(() => ({ eject_after: 1, eject_cooldown: 3000, eject_cooldown_max: 1000 }))
  ejection.recordFailure(0)
  ejection.recordFailure(3000)
  t.equal(ejection.cooldownMs, 3000)
})

t.test('a half-open backend takes one request at a time (the probe)', async (t) => {
  const pool = new Pool('http://127.0.0.1:9')
  t.teardown(() => pool.close())
  const backend = new Backend({ name: 'a', url: 'http://127.0.0.1:9', weight: 1, parallel: 4 }, pool, {
    upstream: () => settings,
  })
  backend.recordFailure('ECONNREFUSED', 0)
  backend.recordFailure('ECONNREFUSED', 0)
  t.notOk(backend.usable(999), 'cooling down')
  t.ok(backend.usable(1000), 'half-open, nothing outstanding')
  backend.dispatched('m:latest')
  t.notOk(backend.usable(1000), 'the probe is under way')
  backend.outstanding--
  backend.recordSuccess()
  backend.dispatched('m:latest')
  t.ok(backend.usable(1000), 'back: as many as it likes')
})

t.test('down and up are announced once per change, whether ejection or the health check changed it', async (t) => {
  const pool = new Pool('http://127.0.0.1:9')
  t.teardown(() => pool.close())
  const seen: GatewayEvent[] = []
  const bus = new EventBus()
  bus.subscribe((event) => seen.push(event))
  const backend = new Backend({ name: 'gpu1', url: 'http://127.0.0.1:9', weight: 1, parallel: 1 }, pool, {
    upstream: () => settings,
    emit: bus.emit,
  })
  const types = () => seen.map((event) => event.type)
  backend.recordFailure('ECONNREFUSED', 0)
  t.same(types(), [], 'one failure is not an ejection')
  backend.recordFailure('ECONNREFUSED', 0)
  t.same(types(), ['backend.down'])
  t.match(seen[0]!.data, { backend: 'gpu1', error: /ejected after 2 consecutive failures \(last: ECONNREFUSED\)/ })
  backend.recordHealth('ECONNREFUSED', 10)
  backend.recordFailure('ECONNREFUSED', 1000)
  t.same(types(), ['backend.down'], 'a failing health check and a failed probe add nothing')
  backend.recordHealth(undefined, 2000)
  t.same(types(), ['backend.down'], 'the health check answers, but it is still ejected')
  backend.recordSuccess()
  t.same(types(), ['backend.down', 'backend.up'], 'the probe succeeded: up, once')
  backend.recordHealth('status 500', 3000)
  backend.recordFailure('status 500', 3000)
  backend.recordFailure('status 500', 3000)
  t.same(types(), ['backend.down', 'backend.up', 'backend.down'], 'health down, then ejected: one announcement')
  t.match(seen[2]!.data, { error: 'status 500' })
})
