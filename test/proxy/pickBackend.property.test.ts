// The picker under any sequence of request outcomes and clock steps (fake clock): a backend that cannot take traffic
// (ejected and cooling down, a probe under way, a failing health check) is picked only when no backend can; an
// ejection never lasts longer than the cap; and a backend is back in service after its first success.
import fc from 'fast-check'
import t from 'tap'
import { Pool } from 'undici'
import { Backend } from '../../src/proxy/backends.js'
import { pickBackend } from '../../src/proxy/pickBackend.js'
import { holds } from '../helpers/fuzz.js'

const pool = new Pool('http://127.0.0.1:9')
t.teardown(() => pool.close())

const step = fc.oneof(
  fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 20_000 }) }),
  fc.record({ kind: fc.constant('request' as const), ok: fc.boolean(), ends: fc.boolean() }),
  fc.record({ kind: fc.constant('health' as const), index: fc.nat(3), ok: fc.boolean() }),
)

t.test('never picked while unusable unless all are; cooldowns stay within the cap', async (t) => {
  await holds(
    t,
    'ejection picks',
    fc.property(
      fc.integer({ min: 1, max: 4 }),
      fc.record({
        eject_after: fc.integer({ min: 1, max: 4 }),
        eject_cooldown: fc.integer({ min: 1, max: 10_000 }),
        eject_cooldown_max: fc.integer({ min: 1, max: 60_000 }),
      }),
      fc.array(step, { maxLength: 80 }),
      (count, settings, steps) => {
        const backends = Array.from(
          { length: count },
          (_, index) =>
            new Backend({ name: `b${index}`, url: 'http://127.0.0.1:9', weight: 1, parallel: 2 }, pool, {
              upstream: () => settings,
            }),
        )
        const cap = Math.max(settings.eject_cooldown, settings.eject_cooldown_max)
        /** Requests sent and not yet ended: [backend, succeeds]. */
        const open: [Backend, boolean][] = []
        let now = 1
        for (const next of steps) {
          if (next.kind === 'advance') now += next.ms
          else if (next.kind === 'health') backends[next.index % count]!.recordHealth(next.ok ? undefined : 'down', now)
          else {
            const picked = pickBackend(backends, null, undefined, now)!
            if (!picked.usable(now) && backends.some((backend) => backend.usable(now))) return false
            picked.dispatched(null)
            open.push([picked, next.ok])
            // Some requests end at once, others stay open (a probe under way) until a later request step.
            while (open.length > 0 && (next.ends || open.length > 3)) {
              const [backend, ok] = open.shift()!
              backend.outstanding--
              if (ok) backend.recordSuccess()
              else backend.recordFailure('ECONNREFUSED', now)
              if (ok && backend.ejection.out) return false
            }
          }
          for (const backend of backends) {
            if (backend.ejection.cooldownMs > cap) return false
            if (backend.ejection.coolingDown(now) && backend.ejection.ejectedUntil - now > cap) return false
          }
        }
        return true
      },
    ),
    2000,
  )
})
