// Attack (review 2): every value stored from a client is bounded before it is stored — limit values too. The CLI let
// `--rpm 1e300` reach SQLite (which refused it in its own words) and stored 2^53+1 rounded; now the store refuses
// anything but a whole number from 1 to 2^45, with a message naming the limit, for the CLI and any other writer.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import t from 'tap'
import { maxLimitValue } from '../../src/limits/limitNumbers.js'
import { checkLimitValues } from '../../src/store/limits.js'
import { openStore } from '../../src/store/store.js'
import { holds } from '../helpers/fuzz.js'
import { runCli } from '../helpers/cli.js'

t.test('the CLI refuses limit values out of bounds, clearly, and stores nothing', async (t) => {
  const path = join(mkdtempSync(join(tmpdir(), 'parallama-limits-')), 'parallama.db')
  const store = openStore({ path, migrate_on_start: true, busy_timeout: 5000 }, { migrate: true })
  store.users.add({ username: 'bob', role: 'user' })
  store.close()
  for (const value of ['1e300', '9007199254740993', String(maxLimitValue + 1)]) {
    const run = await runCli(['limit', 'set', '--db', path, '--user', 'bob', '--rpm', value])
    t.not(run.code, 0, `--rpm ${value} fails`)
    t.match(run.stderr, /"rpm" must be a whole number from 1 to/, `--rpm ${value}: says what is wrong`)
    t.notMatch(run.stderr, /REAL|INTEGER column/, 'not in SQLite words')
  }
  const list = await runCli(['limit', 'list', '--db', path, '--json'])
  t.same(JSON.parse(list.stdout), [], 'nothing stored')
})

t.test('checkLimitValues accepts exactly the whole numbers from 1 to 2^45', async (t) => {
  await holds(
    t,
    'limit value bounds',
    fc.property(fc.oneof(fc.double(), fc.integer(), fc.maxSafeInteger()), (value) => {
      const ok = Number.isInteger(value) && value >= 1 && value <= maxLimitValue
      try {
        checkLimitValues({ rpm: value })
        return ok
      } catch {
        return !ok
      }
    }),
    3000,
  )
})
