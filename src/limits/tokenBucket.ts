// A token bucket: `capacity` tokens, refilled continuously at capacity per window, so a full window's worth can be
// spent at once (the burst) and then at the steady rate. The state is what was spent and has not refilled yet
// (`spent`, never negative); what is left is capacity − spent, and may be below zero: token limits reserve an estimate
// at admission and settle to the real count later, and a request that used more than it reserved leaves a debt that
// later requests wait out. Every amount is checked by the limiter before it gets here (limitNumbers.ts); the bucket
// still keeps `0 ≤ spent ≤ maxLimiterState` and refuses to hold anything else (assertState).
import { assertState, maxLimiterState } from './limitNumbers.js'

export class TokenBucket {
  private spent = 0
  private updatedAt: number

  constructor(
    /** A whole number ≥ 1 (RuleSet makes sure). */
    readonly capacity: number,
    readonly windowMs: number,
    now: number,
  ) {
    this.updatedAt = now
  }

  private refill(now: number): void {
    // A clock that stands still or goes back refills nothing (and `now > NaN` is false).
    if (now > this.updatedAt) {
      if (this.spent > 0)
        this.spent = Math.max(0, this.spent - ((now - this.updatedAt) * this.capacity) / this.windowMs)
      this.updatedAt = now
    }
  }

  /** Tokens available now (negative while a debt is being waited out). */
  available(now: number): number {
    this.refill(now)
    return this.capacity - this.spent
  }

  /** Takes `amount` if that much is there (a request counts whole); false otherwise. */
  take(amount: number, now: number): boolean {
    this.refill(now)
    if (this.capacity - this.spent < amount) return false
    this.spent = assertState(this.spent + amount)
    return true
  }

  /**
   * Reserves up to `amount` if anything is left (spent < capacity), going into debt if need be, and returns what it
   * reserved (−1: refused). A reservation never exceeds the capacity: an estimate larger than the whole bucket takes
   * all of it (until settled), so concurrent requests overshoot by at most one bucket, and no estimate is so large that
   * settling it loses the real count to floating-point absorption.
   */
  reserve(amount: number, now: number): number {
    this.refill(now)
    if (this.spent >= this.capacity) return -1
    const reserved = amount < this.capacity ? amount : this.capacity
    this.spent = assertState(this.spent + reserved)
    return reserved
  }

  /** Settles a reservation: `reserved` comes back, `used` is spent instead (both checked counts). */
  settle(reserved: number, used: number, now: number): void {
    this.refill(now)
    const spent = this.spent - reserved + used
    this.spent = assertState(spent < 0 ? 0 : spent > maxLimiterState ? maxLimiterState : spent)
  }

  /** Gives back what was taken (a request refused by a later limit takes nothing). */
  giveBack(amount: number, now: number): void {
    this.refill(now)
    const spent = this.spent - amount
    this.spent = assertState(spent < 0 ? 0 : spent)
  }

  /** Milliseconds until `amount` tokens are there (finite: at most the debt's refill time). */
  waitMs(now: number, amount = 1): number {
    this.refill(now)
    const missing = amount - (this.capacity - this.spent)
    return missing <= 0 ? 0 : Math.ceil((missing * this.windowMs) / this.capacity)
  }

  /** Milliseconds until the bucket is full again. */
  fullInMs(now: number): number {
    this.refill(now)
    return Math.ceil((this.spent * this.windowMs) / this.capacity)
  }

  /** What is spent and not refilled yet (for tests of the invariant). */
  get spentTokens(): number {
    return this.spent
  }
}
