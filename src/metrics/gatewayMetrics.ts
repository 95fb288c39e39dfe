// What /metrics exposes: every request counted when it ends (by API, route, status class, model, backend), its
// timings and tokens, refusals by reason, waits for a backend slot, and at scrape time the state of backends, the
// gateway's queue, the usage queue, the key cache, the event loop and the process. Labels are bounded: a model is a
// label once a request for it succeeded, up to `maxModels` (then "other"), and user or key ids appear only when
// metrics.key_labels allows it.
import type { BatchCounts } from '../batch/batchRunner.js'
import type { CacheCounts } from '../cache/responseCache.js'
import type { Backend } from '../proxy/backends.js'
import type { ExchangeResult } from '../proxy/exchange.js'
import { EventLoopLag } from './eventLoopLag.js'
import { Counter, Gauge, Histogram, ReadCounter, Registry } from './registry.js'

const maxModels = 100
const latencyBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300]
const overheadBuckets = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1]
const rateBuckets = [1, 5, 10, 20, 30, 50, 75, 100, 150, 200, 500, 1000]
/** A wait for a slot: from a slot freed at once (1 ms) to scheduler.max_wait's default (5 min). */
const queueWaitBuckets = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300]
const noLabels: readonly string[] = []

/** The requests waiting for a slot now, per model, as the scheduler counts them: read at each scrape. */
export type QueueDepthReader = () => Iterable<readonly [model: string, waiting: number]>

export interface MetricsSources {
  backends: () => Backend[]
  inFlight: () => { requests: number; streams: number }
  usageQueue: () => {
    queued: number
    pending: number
    lastFlushMs: number
    flushes: number
    failures: number
    sanitised?: number
    setAside?: number
    overflowRows?: number
    lost?: number
  }
  keyCache: () => { hits: number; lookups: number; negativeHits: number }
  alerts: () => { fired: number; delivered: number; failed: number }
  /** Webhook deliveries by outcome and the outbox depth (src/events). */
  webhooks?: () => { delivered: number; failed: number; dead: number; depth: number }
  /** What the plugins did and how they failed (src/plugins/chain.ts's stats, kept across reloads). */
  plugins?: () => {
    rewrites: number
    refusals: number
    answers: number
    failures: number
    timeouts: number
    observerFailures: number
  }
}

export class GatewayMetrics {
  readonly registry = new Registry()
  private readonly models = new Set<string>()
  private readonly requests: Counter
  private readonly errors: Counter
  private readonly authFailures: Counter
  private readonly limitRejections: Counter
  private readonly promptTokens: Counter
  private readonly completionTokens: Counter
  private readonly overhead: Histogram
  private readonly ttfb: Histogram
  private readonly duration: Histogram
  private readonly tokenRate: Histogram
  private readonly queueWait: Histogram
  private queueDepth: QueueDepthReader | undefined
  /** The event loop's lag: a cumulative histogram and the last minute's max, neither reset by a scrape. */
  readonly lag = new EventLoopLag()

  constructor(
    sources: MetricsSources,
    private readonly keyLabels: boolean,
  ) {
    const r = this.registry
    const requestLabels = keyLabels
      ? ['api', 'route', 'status_class', 'model', 'backend', 'user_id', 'key_id']
      : ['api', 'route', 'status_class', 'model', 'backend']
    this.requests = r.add(
      new Counter('parallama_requests_total', 'Requests that ended, refused ones included.', requestLabels),
    )
    this.errors = r.add(new Counter('parallama_errors_total', 'Gateway-made errors by their stable code.', ['code']))
    this.authFailures = r.add(
      new Counter('parallama_auth_failures_total', 'Refused credentials by reason.', ['reason']),
    )
    this.limitRejections = r.add(
      new Counter('parallama_limit_rejections_total', 'Requests refused by a rate limit or quota.', ['code', 'kind']),
    )
    this.promptTokens = r.add(
      new Counter('parallama_prompt_tokens_total', 'Prompt tokens, as Ollama counted them.', ['model']),
    )
    this.completionTokens = r.add(
      new Counter('parallama_completion_tokens_total', 'Completion tokens, as Ollama counted them.', ['model']),
    )
    this.overhead = r.add(
      new Histogram(
        'parallama_gateway_overhead_seconds',
        'Time from a request’s arrival to its dispatch upstream (body, credential, limits).',
        ['api'],
        overheadBuckets,
      ),
    )
    this.ttfb = r.add(
      new Histogram(
        'parallama_upstream_ttfb_seconds',
        'Backend time to the response head.',
        ['api', 'backend'],
        latencyBuckets,
      ),
    )
    this.duration = r.add(
      new Histogram(
        'parallama_request_duration_seconds',
        'Whole request, arrival to last byte.',
        ['api', 'route'],
        latencyBuckets,
      ),
    )
    this.tokenRate = r.add(
      new Histogram(
        'parallama_tokens_per_second',
        'Completion tokens per second of generation.',
        ['model'],
        rateBuckets,
      ),
    )
    this.queueWait = r.add(
      new Histogram(
        'parallama_queue_wait_seconds',
        'Time a request waited in the gateway for a backend slot (0 when one was free).',
        [],
        queueWaitBuckets,
      ),
    )
    r.add(
      new Gauge(
        'parallama_queue_depth',
        'Requests waiting in the gateway for a backend slot, per model.',
        ['model'],
        () => this.queueDepthSamples(),
      ),
    )
    r.add(
      new Gauge('parallama_in_flight', 'Requests being proxied now, and how many of them stream.', ['kind'], () => {
        const now = sources.inFlight()
        return [
          [['requests'], now.requests],
          [['streams'], now.streams],
        ]
      }),
    )
    r.add(
      new Gauge('parallama_backend_up', '1 when the backend answered its last health check.', ['backend'], () =>
        sources
          .backends()
          .map((backend) => [[backend.name], backend.lastError === undefined && backend.lastOkAt > 0 ? 1 : 0]),
      ),
    )
    r.add(
      new ReadCounter(
        'parallama_upstream_retries_total',
        'Requests that failed on a backend before their first byte reached the client and were sent to another, by why.',
        ['backend', 'reason'],
        () =>
          sources
            .backends()
            .flatMap((backend) =>
              [...backend.retries].map(([reason, count]): [string[], number] => [[backend.name, reason], count]),
            ),
      ),
    )
    r.add(
      new Gauge('parallama_backend_outstanding', 'Requests sent to the backend and not finished.', ['backend'], () =>
        sources.backends().map((backend) => [[backend.name], backend.outstanding]),
      ),
    )
    r.add(
      new Gauge(
        'parallama_usage_queue_rows',
        'Usage rows not yet written (queued, or with the writer).',
        ['state'],
        () => {
          const queue = sources.usageQueue()
          return [
            [['queued'], queue.queued],
            [['pending'], queue.pending],
          ]
        },
      ),
    )
    r.add(
      new Gauge('parallama_usage_last_flush_seconds', 'How long the writer thread took for its last batch.', [], () => [
        [[], sources.usageQueue().lastFlushMs / 1000],
      ]),
    )
    r.add(
      new ReadCounter(
        'parallama_usage_flushes_total',
        'Usage batches written, and refused (retried).',
        ['result'],
        () => {
          const queue = sources.usageQueue()
          return [
            [['written'], queue.flushes],
            [['failed'], queue.failures],
          ]
        },
      ),
    )
    r.add(
      new ReadCounter(
        'parallama_usage_bad_rows_total',
        'Usage rows with a field made safe before queuing (sanitised), rows the database refused (set_aside), rows ' +
          'given up on after the retry bound or a shutdown deadline (lost).',
        ['result'],
        () => {
          const queue = sources.usageQueue()
          return [
            [['sanitised'], queue.sanitised ?? 0],
            [['set_aside'], queue.setAside ?? 0],
            [['lost'], queue.lost ?? 0],
          ]
        },
      ),
    )
    r.add(
      new ReadCounter(
        'parallama_usage_ring_overflow_rows_total',
        'Usage rows that found the shared ring full and were queued on the event loop instead (written all the same).',
        [],
        () => [[[], sources.usageQueue().overflowRows ?? 0]],
      ),
    )
    r.add(
      new ReadCounter(
        'parallama_key_cache_lookups_total',
        'API key checks: cache hits, known-bad hits, database lookups.',
        ['result'],
        () => {
          const cache = sources.keyCache()
          return [
            [['hit'], cache.hits],
            [['negative_hit'], cache.negativeHits],
            [['lookup'], cache.lookups],
          ]
        },
      ),
    )
    r.add(
      new ReadCounter(
        'parallama_quota_alerts_total',
        'Quota alerts fired, delivered to the webhook, given up.',
        ['result'],
        () => {
          const alerts = sources.alerts()
          return [
            [['fired'], alerts.fired],
            [['delivered'], alerts.delivered],
            [['failed'], alerts.failed],
          ]
        },
      ),
    )
    const webhooks = sources.webhooks
    if (webhooks) {
      // Deliveries: attempts that failed, deliveries delivered and dead-lettered; the outbox depth is pending rows.
      r.add(
        new ReadCounter(
          'parallama_webhook_deliveries_total',
          'Webhook deliveries by outcome since start (failed: attempts that failed).',
          ['result'],
          () => {
            const stats = webhooks()
            return [
              [['delivered'], stats.delivered],
              [['failed'], stats.failed],
              [['dead'], stats.dead],
            ]
          },
        ),
      )
      r.add(
        new Gauge('parallama_webhook_outbox_depth', 'Webhook deliveries waiting to be sent.', [], () => [
          [[], webhooks().depth],
        ]),
      )
    }
    const plugins = sources.plugins
    if (plugins) {
      r.add(
        new ReadCounter(
          'parallama_plugin_actions_total',
          "What plugins' onRequest hooks did: rewrote a body, refused or answered a request.",
          ['action'],
          () => {
            const stats = plugins()
            return [
              [['rewrite'], stats.rewrites],
              [['refuse'], stats.refusals],
              [['answer'], stats.answers],
            ]
          },
        ),
      )
      r.add(
        new ReadCounter(
          'parallama_plugin_failures_total',
          'Plugin hooks that failed: onRequest or an answer (500 plugin_error), timed out, or onResponseChunk/onEnd/close.',
          ['kind'],
          () => {
            const stats = plugins()
            return [
              [['request'], stats.failures],
              [['timeout'], stats.timeouts],
              [['observer'], stats.observerFailures],
            ]
          },
        ),
      )
    }
    this.lag.start()
    r.add(this.lag.histogram)
    r.add(
      new Gauge('parallama_event_loop_lag_max_seconds', 'The largest event-loop lag of the last minute.', [], () => [
        [[], this.lag.maxLastMinute()],
      ]),
    )
    r.add(
      new Gauge('process_memory_bytes', 'Process memory by kind.', ['kind'], () => {
        const memory = process.memoryUsage()
        return [
          [['rss'], memory.rss],
          [['heap_used'], memory.heapUsed],
          [['heap_total'], memory.heapTotal],
          [['external'], memory.external],
        ]
      }),
    )
    r.add(
      new Gauge('process_active_resources', 'Handles and requests keeping the event loop alive.', [], () => [
        [[], process.getActiveResourcesInfo().length],
      ]),
    )
  }

  /** Counts one finished request. */
  readonly observe = (result: ExchangeResult): void => {
    const model = this.modelLabel(result.model, result.status < 400)
    const labels = [result.api, result.route, `${Math.floor(result.status / 100)}xx`, model, result.backend ?? '']
    if (this.keyLabels) labels.push(result.userId === null ? '' : String(result.userId), result.keyId ?? '')
    this.requests.inc(labels)
    const code = result.errorCode
    if (code !== undefined) {
      this.errors.inc([code])
      if (result.status === 401) this.authFailures.inc([code])
      if (code === 'rate_limit_exceeded' || code === 'quota_exceeded')
        this.limitRejections.inc([code, result.limitKind ?? ''])
    }
    const end = result.endedAt
    this.duration.observe([result.api, result.route], (end - result.startedAt) / 1000)
    if (result.dispatchedAt > 0) this.overhead.observe([result.api], (result.dispatchedAt - result.startedAt) / 1000)
    if (result.firstByteAt > 0 && result.backend) {
      this.ttfb.observe([result.api, result.backend], (result.firstByteAt - result.dispatchedAt) / 1000)
    }
    const usage = result.usage
    // A cache hit's counts are the stored reply's: no model worked for them now (nor at the replay's speed).
    if (usage && usage.error === undefined && result.cache?.outcome !== 'hit') {
      if (usage.promptTokens) this.promptTokens.inc([model], usage.promptTokens)
      if (usage.completionTokens) {
        this.completionTokens.inc([model], usage.completionTokens)
        const generating = (end - result.firstByteAt) / 1000
        if (generating > 0 && result.firstByteAt > 0)
          this.tokenRate.observe([model], usage.completionTokens / generating)
      }
    }
  }

  /**
   * The response cache's numbers (src/cache/responseCache.ts), read at each scrape; registered once at start (the
   * cache is made at start or not at all: cache.enabled needs a restart).
   */
  registerCache(read: (() => CacheCounts) | undefined): void {
    if (!read) return
    const r = this.registry
    r.add(
      new ReadCounter(
        'parallama_cache_lookups_total',
        'Requests on cacheable routes by what the cache did: hit (answered from it), miss (went to a backend), bypass (by reason).',
        ['result', 'reason'],
        () => {
          const counts = read()
          const samples: [readonly string[], number][] = [
            [['hit', ''], counts.hits],
            [['miss', ''], counts.misses],
          ]
          for (const [reason, count] of Object.entries(counts.bypasses)) samples.push([['bypass', reason], count])
          return samples
        },
      ),
    )
    r.add(
      new ReadCounter('parallama_cache_stores_total', 'Replies stored in the cache (completed misses).', [], () => [
        [[], read().stores],
      ]),
    )
    r.add(
      new ReadCounter(
        'parallama_cache_evictions_total',
        'Entries pushed out of the memory tier to stay within cache.max_bytes.',
        [],
        () => [[[], read().evictions]],
      ),
    )
    r.add(new Gauge('parallama_cache_entries', 'Entries in the memory tier.', [], () => [[[], read().entries]]))
    r.add(
      new Gauge('parallama_cache_bytes', 'Bytes the memory tier holds (cache.max_bytes bounds it).', [], () => [
        [[], read().bytes],
      ]),
    )
  }

  /** The batch runner's numbers (src/batch/batchRunner.ts), read at each scrape; registered once at start. */
  registerBatches(runner: { counts: BatchCounts; active: number; linesInFlight: number }): void {
    const r = this.registry
    const { counts } = runner
    r.add(
      new ReadCounter(
        'parallama_batch_lines_total',
        'Batch lines settled, by outcome (succeeded: a 2xx answer; failed: any other, written to the error file).',
        ['outcome'],
        () => [
          [['succeeded'], counts.lines.succeeded],
          [['failed'], counts.lines.failed],
        ],
      ),
    )
    r.add(
      new ReadCounter(
        'parallama_batch_line_pauses_total',
        "Batch lines put back to wait (the owner's rate limit or quota said 429, or the gateway 503).",
        [],
        () => [[[], counts.paused]],
      ),
    )
    r.add(
      new ReadCounter('parallama_batches_ended_total', 'Batches ended, by final status.', ['status'], () =>
        Object.entries(counts.ended).map(([status, count]) => [[status], count] as [readonly string[], number]),
      ),
    )
    r.add(
      new Gauge(
        'parallama_batches_active',
        'Batches not ended (validating, running, finalizing, cancelling).',
        [],
        () => [[[], runner.active]],
      ),
    )
    r.add(
      new Gauge('parallama_batch_lines_in_flight', 'Batch lines running or waiting for an idle slot.', [], () => [
        [[], runner.linesInFlight],
      ]),
    )
  }

  /**
   * Where parallama_queue_depth reads from at each scrape (the scheduler's waiting requests per model); it replaces
   * any earlier reader, undefined removes it. Without one the gauge has no samples.
   */
  registerQueueDepth(read: QueueDepthReader | undefined): void {
    this.queueDepth = read
  }

  /** Counts one request's wait for a slot, when it ends (dispatched, timed out or left); not a wait: ignored. */
  readonly observeQueueWait = (seconds: number): void => {
    if (seconds >= 0 && seconds !== Infinity) this.queueWait.observe(noLabels, seconds)
  }

  render(): string {
    return this.registry.render()
  }

  /** Bounded like the request labels: past maxModels distinct models in one scrape, the rest are summed as "other". */
  private queueDepthSamples(): [readonly string[], number][] {
    if (!this.queueDepth) return []
    const samples: [readonly string[], number][] = []
    let other = 0
    let others = false
    for (const [model, waiting] of this.queueDepth()) {
      if (samples.length < maxModels) samples.push([[model], waiting])
      else {
        other += waiting
        others = true
      }
    }
    if (others) samples.push([['other'], other])
    return samples
  }

  close(): void {
    this.lag.stop()
  }

  /** A model becomes a label value once a request for it succeeded (made-up names cannot fill the set). */
  private modelLabel(model: string | null, ok: boolean): string {
    if (model === null) return ''
    if (this.models.has(model)) return model
    if (!ok || this.models.size >= maxModels) return 'other'
    this.models.add(model)
    return model
  }
}
