// Every route's schema compiles in both modes: Ajv's strictSchema refuses an unknown keyword, and the gateway only
// compiles a route's schema when a body first needs it, so a typo in a rarely used route would otherwise wait for a user.
import t from 'tap'
import { routeChecks } from '../../src/validation/validator.js'

t.test('every route schema compiles, strict and basic', async (t) => {
  const checks = routeChecks()
  t.ok(checks.size >= 14, `${checks.size} routes`)
  for (const [route, check] of checks) {
    t.type(check.strict, 'function', `${route} strict`)
    t.type(check.basic, 'function', `${route} basic`)
    t.equal(check.strict, check.strict, `${route}: compiled once`)
  }
})
