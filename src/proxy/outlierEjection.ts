// Outlier ejection of one backend: after `eject_after` consecutive failures it takes no traffic for a cooldown that
// doubles with each ejection in a row (up to a cap); once the cooldown is over it is half-open, and the next request
// sent to it is the probe that decides whether it takes traffic again. Pure: the caller passes the time.
//
// Why a request is the probe, not the health check: what ejects a backend is requests failing (a 503 busy, a 5xx from
// a model that cannot load, resets), which /api/version answering says nothing about; and a probing request is
// covered by failover (src/proxy/retryPolicy.ts), so if the backend still fails, the request goes to another one and
// the client only sees the delay. The health check's own verdict is kept apart (Backend.usable needs both).

export interface EjectionSettings {
  /** Consecutive failures that eject. */
  eject_after: number
  /** The first ejection's cooldown (ms). */
  eject_cooldown: number
  /** The longest cooldown (ms); below eject_cooldown it means no doubling. */
  eject_cooldown_max: number
}

/** What a recorded outcome changed: the backend was just ejected, or just taken back, or nothing. */
export type EjectionChange = 'ejected' | 'returned' | undefined

export class OutlierEjection {
  /** Failures since the last success. */
  consecutiveFailures = 0
  /** Ejections in a row without a success between them: the cooldown's doubling count. */
  private ejections = 0
  /** The current ejection's cooldown (ms), 0 when in service. */
  cooldownMs = 0
  /** When the current ejection's cooldown ends (ms since epoch); 0 when in service. */
  ejectedUntil = 0

  constructor(private readonly settings: () => EjectionSettings) {}

  /** Out of service: ejected, whether or not its cooldown is over (half-open until a probe succeeds). */
  get out(): boolean {
    return this.ejectedUntil !== 0
  }

  /** Ejected and still cooling down: no request may go to it while another backend can take it. */
  coolingDown(now: number): boolean {
    return this.ejectedUntil !== 0 && now < this.ejectedUntil
  }

  /** The cooldown is over but no probe succeeded yet: one request at a time may go to it. */
  halfOpen(now: number): boolean {
    return this.ejectedUntil !== 0 && now >= this.ejectedUntil
  }

  /**
   * A request to the backend failed. Ejects it when that makes `eject_after` in a row, or at once when it was the
   * half-open probe (with the doubled cooldown).
   */
  recordFailure(now: number): EjectionChange {
    this.consecutiveFailures++
    if (this.out) {
      // A failure that was not the probe (a request that started before the ejection) changes nothing.
      if (!this.halfOpen(now)) return undefined
      this.eject(now)
      return undefined
    }
    if (this.consecutiveFailures < this.settings().eject_after) return undefined
    this.eject(now)
    return 'ejected'
  }

  /** A request to the backend succeeded: it is back in service, and its next ejection starts from the base cooldown. */
  recordSuccess(): EjectionChange {
    const wasOut = this.out
    this.consecutiveFailures = 0
    this.ejections = 0
    this.cooldownMs = 0
    this.ejectedUntil = 0
    return wasOut ? 'returned' : undefined
  }

  private eject(now: number): void {
    const { eject_cooldown: base, eject_cooldown_max: cap } = this.settings()
    // 2^ejections overflows to Infinity long before it matters; the cap bounds it.
    this.cooldownMs = Math.min(base * 2 ** this.ejections, Math.max(cap, base))
    this.ejections++
    this.ejectedUntil = now + this.cooldownMs
  }
}
