// The scheduler's metrics (issue 13): parallama_queue_depth{model} is read at each scrape from the reader registered
// with the metrics (none registered: no samples), bounded in models like every model label; parallama_queue_wait_seconds
// is a histogram of waits from 1 ms to 5 min, fed by observeQueueWait, which ignores what cannot be a wait.
import t from 'tap'
import { GatewayMetrics, type MetricsSources } from '../../src/metrics/gatewayMetrics.js'

function metricsOf(): GatewayMetrics {
  const sources: MetricsSources = {
    backends: () => [],
    inFlight: () => ({ requests: 0, streams: 0 }),
    usageQueue: () => ({ queued: 0, pending: 0, lastFlushMs: 0, flushes: 0, failures: 0 }),
    keyCache: () => ({ hits: 0, lookups: 0, negativeHits: 0 }),
    alerts: () => ({ fired: 0, delivered: 0, failed: 0 }),
  }
  const metrics = new GatewayMetrics(sources, false)
  metrics.lag.stop()
  return metrics
}

/** The exposition lines of one metric family (its HELP, TYPE and samples), in order. */
function family(text: string, name: string): string[] {
  const own = (line: string) =>
    line.startsWith(`# HELP ${name} `) ||
    line.startsWith(`# TYPE ${name} `) ||
    (/^\w+/.exec(line)?.[0] ?? '').replace(/_(bucket|sum|count)$/, '') === name
  return text.split('\n').filter(own)
}

t.test('queue depth: no samples until a reader is registered; then what it reads, at each scrape', async (t) => {
  const metrics = metricsOf()
  t.teardown(() => metrics.close())
  t.same(family(metrics.render(), 'parallama_queue_depth'), [
    '# HELP parallama_queue_depth Requests waiting in the gateway for a backend slot, per model.',
    '# TYPE parallama_queue_depth gauge',
  ])
  const waiting = new Map([
    ['llama3.2:3b', 3],
    ['qwen2.5:0.5b', 0],
  ])
  let reads = 0
  metrics.registerQueueDepth(() => {
    reads++
    return waiting
  })
  t.equal(reads, 0, 'nothing is read before a scrape')
  t.same(family(metrics.render(), 'parallama_queue_depth').slice(2), [
    'parallama_queue_depth{model="llama3.2:3b"} 3',
    'parallama_queue_depth{model="qwen2.5:0.5b"} 0',
  ])
  waiting.set('llama3.2:3b', 1).set('a "quoted"\nmodel', 2)
  t.same(family(metrics.render(), 'parallama_queue_depth').slice(2), [
    'parallama_queue_depth{model="llama3.2:3b"} 1',
    'parallama_queue_depth{model="qwen2.5:0.5b"} 0',
    'parallama_queue_depth{model="a \\"quoted\\"\\nmodel"} 2',
  ])
  t.equal(reads, 2, 'one read per scrape')
  metrics.registerQueueDepth(undefined)
  t.same(family(metrics.render(), 'parallama_queue_depth').length, 2, 'unregistered: no samples again')
})

t.test('queue depth: past 100 models in one scrape, the rest are summed as "other"', async (t) => {
  const metrics = metricsOf()
  t.teardown(() => metrics.close())
  const waiting = Array.from({ length: 105 }, (_, i) => [`model-${i}`, 2] as const)
  metrics.registerQueueDepth(() => waiting)
  const samples = family(metrics.render(), 'parallama_queue_depth').slice(2)
  t.equal(samples.length, 101)
  t.equal(samples[99], 'parallama_queue_depth{model="model-99"} 2')
  t.equal(samples[100], 'parallama_queue_depth{model="other"} 10', 'the five models past the bound, 2 each')
})

t.test('queue wait: a histogram of seconds with buckets from 1 ms to 5 min; not-waits are ignored', async (t) => {
  const metrics = metricsOf()
  t.teardown(() => metrics.close())
  for (const seconds of [0, 0.0004, 0.003, 0.2, 7, 299, 301, -1, NaN, Infinity]) metrics.observeQueueWait(seconds)
  const lines = family(metrics.render(), 'parallama_queue_wait_seconds')
  t.same(lines, [
    '# HELP parallama_queue_wait_seconds Time a request waited in the gateway for a backend slot (0 when one was free).',
    '# TYPE parallama_queue_wait_seconds histogram',
    'parallama_queue_wait_seconds_bucket{le="0.001"} 2',
    'parallama_queue_wait_seconds_bucket{le="0.005"} 3',
    'parallama_queue_wait_seconds_bucket{le="0.01"} 3',
    'parallama_queue_wait_seconds_bucket{le="0.025"} 3',
    'parallama_queue_wait_seconds_bucket{le="0.05"} 3',
    'parallama_queue_wait_seconds_bucket{le="0.1"} 3',
    'parallama_queue_wait_seconds_bucket{le="0.25"} 4',
    'parallama_queue_wait_seconds_bucket{le="0.5"} 4',
    'parallama_queue_wait_seconds_bucket{le="1"} 4',
    'parallama_queue_wait_seconds_bucket{le="2.5"} 4',
    'parallama_queue_wait_seconds_bucket{le="5"} 4',
    'parallama_queue_wait_seconds_bucket{le="10"} 5',
    'parallama_queue_wait_seconds_bucket{le="30"} 5',
    'parallama_queue_wait_seconds_bucket{le="60"} 5',
    'parallama_queue_wait_seconds_bucket{le="120"} 5',
    'parallama_queue_wait_seconds_bucket{le="300"} 6',
    'parallama_queue_wait_seconds_bucket{le="+Inf"} 7',
    'parallama_queue_wait_seconds_sum 607.2034',
    'parallama_queue_wait_seconds_count 7',
  ])
})
