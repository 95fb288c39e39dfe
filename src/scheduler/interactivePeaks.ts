// How many interactive requests each model runs now, and the most that ran at once lately: the room low-priority work
// (batch lines) leaves free, so that interactive traffic can come back to its recent peak without waiting behind a
// batch line (there is no preemption). "Lately" is two windows of `windowMs` (the current one and the one before, so
// at least the last full window): a peak is forgotten once the traffic is gone that long.
interface ModelPeak {
  running: number
  /** Which window `current` belongs to (floor(now / windowMs)). */
  window: number
  current: number
  previous: number
}

export class InteractivePeaks {
  private windowMs = 5000
  private readonly models = new Map<string, ModelPeak>()

  get window(): number {
    return this.windowMs
  }

  /** A reload changed the window: every peak seen is kept for one more window of the new length (never forgotten early). */
  setWindow(windowMs: number, now: number): void {
    if (windowMs === this.windowMs) return
    this.windowMs = windowMs
    const window = windowMs > 0 ? Math.floor(now / windowMs) : 0
    // Everything seen goes into the new current window (a peak kept as `previous` would be dropped by the next roll,
    // which may come at once: the new window's boundary is anywhere), and so lives this window and the next.
    for (const peak of this.models.values()) {
      peak.current = Math.max(peak.current, peak.previous, peak.running)
      peak.previous = 0
      peak.window = window
    }
  }

  started(model: string, now: number): void {
    let peak = this.models.get(model)
    if (peak === undefined) {
      peak = { running: 0, window: 0, current: 0, previous: 0 }
      this.models.set(model, peak)
    }
    this.roll(peak, now)
    peak.running++
    if (peak.running > peak.current) peak.current = peak.running
  }

  ended(model: string): void {
    const peak = this.models.get(model)
    if (peak !== undefined && peak.running > 0) peak.running--
  }

  /** Slots to keep free for interactive requests: their recent peak minus those running now (0 without traffic). */
  reserve(model: string, now: number): number {
    const peak = this.models.get(model)
    if (peak === undefined || this.windowMs <= 0) return 0
    this.roll(peak, now)
    if (peak.running === 0 && peak.current === 0 && peak.previous === 0) {
      // Nothing lately: forget the model (the map holds only models with recent traffic).
      this.models.delete(model)
      return 0
    }
    return Math.max(0, Math.max(peak.current, peak.previous) - peak.running)
  }

  private roll(peak: ModelPeak, now: number): void {
    const window = this.windowMs > 0 ? Math.floor(now / this.windowMs) : 0
    if (window === peak.window) return
    peak.previous = window === peak.window + 1 ? peak.current : 0
    // A new window starts with what runs now: those requests are part of its traffic.
    peak.current = peak.running
    peak.window = window
  }
}
