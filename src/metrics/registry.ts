// A small Prometheus registry and text exposition (format 0.0.4): counters and histograms keyed by their label values,
// gauges read when scraped. Recording is a map lookup and an add; nothing is formatted until a scrape.

type Labels = readonly string[]

interface Series {
  labels: Labels
  value: number
}

/** A label's value as the exposition format needs it escaped. */
function escape(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')
}

function labelText(names: Labels, values: Labels, extra = ''): string {
  const pairs = names.map((name, index) => `${name}="${escape(values[index] ?? '')}"`)
  if (extra) pairs.push(extra)
  return pairs.length === 0 ? '' : `{${pairs.join(',')}}`
}

function number(value: number): string {
  return Number.isFinite(value) ? String(value) : value > 0 ? '+Inf' : value < 0 ? '-Inf' : 'NaN'
}

export interface Metric {
  render(): string
}

export class Counter implements Metric {
  private readonly series = new Map<string, Series>()

  constructor(
    readonly name: string,
    private readonly help: string,
    private readonly labelNames: Labels = [],
  ) {}

  inc(values: Labels = [], by = 1): void {
    const key = values.join('\u0000')
    const found = this.series.get(key)
    if (found) found.value += by
    else this.series.set(key, { labels: values, value: by })
  }

  get(values: Labels = []): number {
    return this.series.get(values.join('\u0000'))?.value ?? 0
  }

  render(): string {
    let text = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} counter\n`
    for (const { labels, value } of this.series.values()) {
      text += `${this.name}${labelText(this.labelNames, labels)} ${number(value)}\n`
    }
    return text
  }
}

/** Samples read at scrape time from someone else's numbers: a counter (only goes up) or a gauge. */
class ReadMetric implements Metric {
  constructor(
    private readonly type: 'counter' | 'gauge',
    readonly name: string,
    private readonly help: string,
    private readonly labelNames: Labels,
    private readonly read: () => [Labels, number][],
  ) {}

  render(): string {
    let text = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} ${this.type}\n`
    for (const [labels, value] of this.read())
      text += `${this.name}${labelText(this.labelNames, labels)} ${number(value)}\n`
    return text
  }
}

/** A counter kept by someone else (the usage writer, the key cache) and read at scrape time: only ever goes up. */
export class ReadCounter extends ReadMetric {
  constructor(name: string, help: string, labelNames: Labels, read: () => [Labels, number][]) {
    super('counter', name, help, labelNames, read)
  }
}

/** A gauge whose samples are read at scrape time (queue depths, memory, backends). */
export class Gauge extends ReadMetric {
  constructor(name: string, help: string, labelNames: Labels, read: () => [Labels, number][]) {
    super('gauge', name, help, labelNames, read)
  }
}

interface HistogramSeries {
  labels: Labels
  counts: number[]
  sum: number
  count: number
}

export class Histogram implements Metric {
  private readonly series = new Map<string, HistogramSeries>()

  constructor(
    readonly name: string,
    private readonly help: string,
    private readonly labelNames: Labels,
    private readonly buckets: readonly number[],
  ) {}

  observe(values: Labels, value: number): void {
    const key = values.join('\u0000')
    let found = this.series.get(key)
    if (!found) {
      found = { labels: values, counts: new Array<number>(this.buckets.length).fill(0), sum: 0, count: 0 }
      this.series.set(key, found)
    }
    // Counts per bucket (not cumulative) while recording; cumulated when rendered.
    let index = 0
    while (index < this.buckets.length && value > this.buckets[index]!) index++
    if (index < this.buckets.length) found.counts[index]!++
    found.sum += value
    found.count++
  }

  render(): string {
    let text = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} histogram\n`
    for (const { labels, counts, sum, count } of this.series.values()) {
      let cumulative = 0
      this.buckets.forEach((bound, index) => {
        cumulative += counts[index]!
        text += `${this.name}_bucket${labelText(this.labelNames, labels, `le="${bound}"`)} ${cumulative}\n`
      })
      text += `${this.name}_bucket${labelText(this.labelNames, labels, 'le="+Inf"')} ${count}\n`
      text += `${this.name}_sum${labelText(this.labelNames, labels)} ${number(sum)}\n`
      text += `${this.name}_count${labelText(this.labelNames, labels)} ${count}\n`
    }
    return text
  }
}

export class Registry {
  private readonly metrics: Metric[] = []

  add<M extends Metric>(metric: M): M {
    this.metrics.push(metric)
    return metric
  }

  render(): string {
    return this.metrics.map((metric) => metric.render()).join('')
  }
}
