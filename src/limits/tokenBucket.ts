// A token bucket: `capacity` tokens, refilled continuously at capacity per window, so a full window's worth can be
// spent at once (the burst) and then at the steady rate. A bucket may go negative: token limits reserve an estimate
// at admission and settle to the real count later, and a request that used more than it reserved leaves a debt that
// later requests wait out.

export class TokenBucket {
  private level: number
  private updatedAt: number

  constructor(
    readonly capacity: number,
    readonly windowMs: number,
    now: number,
  ) {
    this.level = capacity
    this.updatedAt = now
  }

  private refill(now: number): void {
    if (now > this.updatedAt) {
      this.level = Math.min(this.capacity, this.level + ((now - this.updatedAt) * this.capacity) / this.windowMs)
      this.updatedAt = now
    }
  }

  /** Tokens available now (may be negative). */
  available(now: number): number {
    this.refill(now)
    return this.level
  }

  /** Takes `amount` if that much is there (a request counts whole); false otherwise. */
  take(amount: number, now: number): boolean {
    this.refill(now)
    if (this.level < amount) return false
    this.level -= amount
    return true
  }

  /**
   * Reserves `amount` if anything is left (level > 0), going negative if need be: a token estimate larger than what
   * is left still gets in once, so concurrent requests overshoot by at most one estimate.
   */
  reserve(amount: number, now: number): boolean {
    this.refill(now)
    if (this.level <= 0) return false
    this.level -= amount
    return true
  }

  /** Gives back (or, negative, takes more of) what a reservation over- or under-estimated. */
  adjust(amount: number, now: number): void {
    this.refill(now)
    this.level = Math.min(this.capacity, this.level + amount)
  }

  /** Milliseconds until `amount` tokens are there. */
  waitMs(now: number, amount = 1): number {
    this.refill(now)
    return this.level >= amount ? 0 : Math.ceil(((amount - this.level) * this.windowMs) / this.capacity)
  }

  /** Milliseconds until the bucket is full again. */
  fullInMs(now: number): number {
    this.refill(now)
    return Math.ceil(((this.capacity - this.level) * this.windowMs) / this.capacity)
  }
}
