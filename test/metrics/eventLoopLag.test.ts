// The event-loop lag on /metrics does not depend on who scrapes: two scrapes in a row (two Prometheus servers) read the
// same cumulative histogram and the same last-minute max; the max ages out by the clock, not by being read. The usage,
// key cache and alert totals are counters with the _total suffix.
import t from 'tap'
import { GatewayMetrics, type MetricsSources } from '../../src/metrics/gatewayMetrics.js'
import { EventLoopLag } from '../../src/metrics/eventLoopLag.js'
import { Registry } from '../../src/metrics/registry.js'

function metricsOf(): GatewayMetrics {
  const sources: MetricsSources = {
    backends: () => [],
    inFlight: () => ({ requests: 0, streams: 0 }),
    usageQueue: () => ({ queued: 0, pending: 0, lastFlushMs: 0, flushes: 3, failures: 1, overflowRows: 2, lost: 0 }),
    keyCache: () => ({ hits: 5, lookups: 2, negativeHits: 1 }),
    alerts: () => ({ fired: 1, delivered: 1, failed: 0 }),
  }
  return new GatewayMetrics(sources, false)
}

t.test('two scrapes read the same lag: nothing is reset by a scrape', async (t) => {
  const metrics = metricsOf()
  t.teardown(() => metrics.close())
  metrics.lag.stop() // only the recorded values below: no real timer samples between the scrapes
  metrics.lag.record(0.003)
  metrics.lag.record(0.12)
  const lagLines = (text: string) => text.split('\n').filter((line) => line.startsWith('parallama_event_loop_lag'))
  const first = lagLines(metrics.render())
  const second = lagLines(metrics.render())
  t.same(second, first, 'the second scrape reads what the first did')
  t.ok(first.includes('parallama_event_loop_lag_seconds_count 2'))
  t.ok(first.includes('parallama_event_loop_lag_seconds_bucket{le="0.005"} 1'))
  t.ok(first.includes('parallama_event_loop_lag_max_seconds 0.12'))
  t.match(metrics.render(), /# TYPE parallama_event_loop_lag_seconds histogram/)
})

t.test('the last-minute max ages out by the clock', async (t) => {
  let now = 1_000_000
  const lag = new EventLoopLag(
    10,
    () => 0,
    () => now,
  )
  lag.record(0.5)
  now += 30_000
  lag.record(0.01)
  t.equal(lag.maxLastMinute(), 0.5)
  t.equal(lag.maxLastMinute(), 0.5, 'reading does not reset it')
  now += 40_000
  t.equal(lag.maxLastMinute(), 0.01, 'a minute later the 0.5 s lag is gone')
  now += 60_000
  t.equal(lag.maxLastMinute(), 0)
  const registry = new Registry()
  registry.add(lag.histogram)
  t.match(registry.render(), /parallama_event_loop_lag_seconds_count 2/, 'the histogram keeps every sample')
})

t.test('usage, key cache and alert totals are counters named _total', async (t) => {
  const metrics = metricsOf()
  t.teardown(() => metrics.close())
  const text = metrics.render()
  for (const name of [
    'parallama_usage_flushes_total',
    'parallama_key_cache_lookups_total',
    'parallama_quota_alerts_total',
    'parallama_usage_bad_rows_total',
    'parallama_usage_ring_overflow_rows_total',
  ]) {
    t.match(text, new RegExp(`# TYPE ${name} counter\\n`), name)
  }
  t.match(text, /parallama_usage_flushes_total\{result="written"\} 3/)
  t.match(text, /parallama_usage_ring_overflow_rows_total 2/)
  t.notMatch(text, /parallama_usage_flushes\{/, 'the old gauge name is gone')
})
