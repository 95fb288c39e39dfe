// keep_alive as Ollama's api.Duration reads it: numbers are seconds, strings Go durations, negative is forever, and
// what Go refuses gets Go's own message (the emulator answers it as Ollama's 400).
import fc from 'fast-check'
import t from 'tap'
import { parseGoDuration, readKeepAlive } from '../../bench/emulator/keepAlive.js'
import { holds } from '../helpers/fuzz.js'

t.test('Go durations', async (t) => {
  t.same(parseGoDuration('5m'), { ms: 300_000 })
  t.same(parseGoDuration('1h30m'), { ms: 5_400_000 })
  t.same(parseGoDuration('1.5s'), { ms: 1500 })
  t.same(parseGoDuration('.5s'), { ms: 500 })
  t.same(parseGoDuration('300ms'), { ms: 300 })
  t.same(parseGoDuration('2us'), { ms: 0.002 })
  t.same(parseGoDuration('0'), { ms: 0 })
  t.same(parseGoDuration('-0'), { ms: 0 })
  t.same(parseGoDuration('-1m'), { ms: -60_000 })
  t.same(parseGoDuration('10'), { error: 'time: missing unit in duration "10"' })
  t.same(parseGoDuration('1d'), { error: 'time: unknown unit "d" in duration "1d"' })
  t.same(parseGoDuration(''), { error: 'time: invalid duration ""' })
  t.same(parseGoDuration('m'), { error: 'time: invalid duration "m"' })
  t.same(parseGoDuration('.s'), { error: 'time: invalid duration ".s"' })
})

t.test('keep_alive values', async (t) => {
  t.same(readKeepAlive(undefined), { ms: undefined })
  t.same(readKeepAlive(null), { ms: undefined }, 'null is "not given", as a nil *Duration')
  t.same(readKeepAlive(0), { ms: 0 })
  t.same(readKeepAlive(30), { ms: 30_000 }, 'a number is seconds')
  t.same(readKeepAlive(-1), { ms: Infinity }, 'negative: forever')
  t.same(readKeepAlive('-5m'), { ms: Infinity })
  t.same(readKeepAlive('10m'), { ms: 600_000 })
  t.same(readKeepAlive(true), { error: "Unsupported type: 'bool'" })
  t.same(readKeepAlive({}), { error: "Unsupported type: 'map[string]interface {}'" })
  t.same(readKeepAlive([]), { error: "Unsupported type: '[]interface {}'" })
  t.same(readKeepAlive('soon'), { error: 'time: invalid duration "soon"' })
})

t.test('any composed duration reads back as its milliseconds', async (t) => {
  await holds(
    t,
    'Go duration composition',
    fc.property(
      fc.integer({ min: 0, max: 99 }),
      fc.integer({ min: 0, max: 59 }),
      fc.integer({ min: 0, max: 59 }),
      fc.integer({ min: 0, max: 999 }),
      fc.boolean(),
      (h, m, s, ms, negative) => {
        const text = `${negative ? '-' : ''}${h}h${m}m${s}s${ms}ms`
        const expected = (h * 3600 + m * 60 + s) * 1000 + ms
        const parsed = parseGoDuration(text)
        return 'ms' in parsed && parsed.ms === (negative ? -expected : expected)
      },
    ),
    1000,
  )
})
