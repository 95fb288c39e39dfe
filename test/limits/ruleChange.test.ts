// A rule change starts over only what changed: buckets of unchanged limits keep their state, a changed limit's bucket
// starts full at its new size, and quotas are not read again from the rollups unless their rule went away.
import t from 'tap'
import { GatewayError } from '../../src/errors.js'
import { Limiter } from '../../src/limits/limiter.js'
import { RuleSet, type LimitRule } from '../../src/limits/rules.js'
import { testPrincipal as principal } from '../helpers/principal.js'

const keyRule = (values: LimitRule['values']): LimitRule => ({
  subjectType: 'key',
  subject: principal.keyId!,
  gateway: '*',
  model: '',
  values,
})
const otherRule = (rpm: number): LimitRule => ({
  subjectType: 'key',
  subject: 'otherkey0001',
  gateway: '*',
  model: '',
  values: { rpm },
})

t.test('an unrelated change keeps buckets and quotas; a changed limit starts over', async (t) => {
  let queries = 0
  const limiter = new Limiter(
    new RuleSet([keyRule({ rpm: 2, daily_requests: 100 }), otherRule(5)]),
    () => {
      queries++
      return 10
    },
    () => Date.UTC(2026, 11, 1, 12),
  )
  const admit = () => limiter.admit(principal, 'ollama', null, undefined)
  t.notOk(admit() instanceof GatewayError)
  t.notOk(admit() instanceof GatewayError)
  t.ok(admit() instanceof GatewayError, 'rpm 2 used up')
  t.equal(queries, 1, 'the quota was read once')

  limiter.replaceRules(new RuleSet([keyRule({ rpm: 2, daily_requests: 100 }), otherRule(50)]))
  t.ok(admit() instanceof GatewayError, "another key's change leaves this key's bucket empty")
  limiter.replaceRules(new RuleSet([keyRule({ rpm: 3, daily_requests: 100 }), otherRule(50)]))
  const admitted = admit()
  t.notOk(admitted instanceof GatewayError, 'a changed rpm starts over, full at its new size')
  t.equal(queries, 1, 'the quota was never read again: its rule still sets it')
  t.match((admitted as { headers: string[] }).headers, ['x-ratelimit-limit', '3'])

  limiter.replaceRules(new RuleSet([keyRule({ rpm: 3 }), otherRule(50)]))
  limiter.replaceRules(new RuleSet([keyRule({ rpm: 3, daily_requests: 100 }), otherRule(50)]))
  admit()
  t.equal(queries, 2, 'a quota whose rule went away is read again when it comes back')
})
