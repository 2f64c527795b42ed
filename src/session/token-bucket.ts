/**
 * A token bucket refilled lazily from the clock: `rate` tokens per second, at most `burst` held.
 * rate <= 0 means unlimited.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private rate: number,
    private burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.last = now;
  }

  get unlimited(): boolean {
    return this.rate <= 0;
  }

  take(now: number): boolean {
    if (this.rate <= 0) return true;
    this.refill(now);
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    return false;
  }

  /** Changes the rate (and burst: one second's worth, at least 1), keeping what is in the bucket. */
  setRate(rate: number, now: number): void {
    this.refill(now);
    this.rate = rate;
    this.burst = Math.max(1, rate);
    this.tokens = Math.min(this.tokens, this.burst);
  }

  /** Milliseconds until one token is available (0 when one is). */
  waitMs(now: number): number {
    if (this.rate <= 0) return 0;
    this.refill(now);
    return this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) * 1000) / this.rate);
  }

  private refill(now: number): void {
    const dt = now - this.last;
    if (dt > 0) {
      this.tokens = Math.min(this.burst, this.tokens + (dt * this.rate) / 1000);
      this.last = now;
    }
  }
}
