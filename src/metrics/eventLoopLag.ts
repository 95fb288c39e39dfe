// The event loop's lag, measured by a timer of our own (every `intervalMs`: how much later than asked it fired) and
// kept in a way no scrape changes: a cumulative histogram (Prometheus computes any quantile over any range from it)
// and the largest lag of the last minute, from six ten-second slots that age out by the clock alone. Two Prometheus
// servers scraping at their own pace read the same numbers; the old "since the last scrape" gauge made each scrape
// reset what the other would have seen.
import { Histogram } from './registry.js'

const lagBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]
const slotMs = 10_000
const slots = 6

export class EventLoopLag {
  readonly histogram = new Histogram(
    'parallama_event_loop_lag_seconds',
    'How late the event loop ran a 10 ms timer (cumulative; quantiles with histogram_quantile).',
    [],
    lagBuckets,
  )
  /** The largest lag in each ten-second slot, and which slot (time / slotMs) it belongs to. */
  private readonly slotMax = new Float64Array(slots)
  private readonly slotAt = new Float64Array(slots).fill(-1)
  private timer: NodeJS.Timeout | undefined
  private expected = 0

  constructor(
    private readonly intervalMs = 10,
    private readonly now: () => number = performance.now.bind(performance),
    private readonly wallClock: () => number = Date.now,
  ) {}

  start(): void {
    this.expected = this.now() + this.intervalMs
    const tick = () => {
      const at = this.now()
      this.record(Math.max(0, at - this.expected) / 1000)
      this.expected = at + this.intervalMs
      this.timer = setTimeout(tick, this.intervalMs)
      this.timer.unref()
    }
    this.timer = setTimeout(tick, this.intervalMs)
    this.timer.unref()
  }

  stop(): void {
    clearTimeout(this.timer)
  }

  /** One measured lag, in seconds. */
  record(seconds: number): void {
    this.histogram.observe([], seconds)
    const slot = Math.floor(this.wallClock() / slotMs)
    const index = slot % slots
    if (this.slotAt[index] !== slot) {
      this.slotAt[index] = slot
      this.slotMax[index] = seconds
    } else if (seconds > this.slotMax[index]!) this.slotMax[index] = seconds
  }

  /** The largest lag of the last minute (by the clock, whoever asks and however often). */
  maxLastMinute(): number {
    const current = Math.floor(this.wallClock() / slotMs)
    let max = 0
    for (let i = 0; i < slots; i++) {
      if (current - this.slotAt[i]! < slots && this.slotMax[i]! > max) max = this.slotMax[i]!
    }
    return max
  }
}
