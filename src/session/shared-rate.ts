/**
 * An account's TPS limit shared by several gateway instances. Each instance runs a local token
 * bucket at its share of the limit; every half second the instances report their demand (submits
 * attempted) to Redis and each takes share = its demand / everyone's (upstream/shared-limits.ts).
 * Alone, an instance gets the whole limit: the single-instance behaviour, burst included.
 *
 * Tolerance: in steady traffic the shares add up to the limit. When demand moves between
 * instances the shares follow within one report interval; an instance never drops below a floor
 * of 5 % of the limit, so a newly busy instance is not starved meanwhile (at most 5 % over per
 * idle instance). When Redis cannot be asked, the last shares stay.
 */
import { TokenBucket } from './token-bucket.js';

export interface Limiter {
  take(now: number): boolean;
}

const MIN_SHARE = 0.05;

export class SharedRate implements Limiter {
  private readonly bucket: TokenBucket;
  private attempts = 0;
  private share = 1;

  constructor(
    readonly tps: number,
    now: number,
  ) {
    this.bucket = new TokenBucket(tps, Math.max(1, tps), now);
  }

  take(now: number): boolean {
    this.attempts++;
    return this.bucket.take(now);
  }

  /** Submits attempted since the last call (the demand reported to the other instances). */
  takeDemand(): number {
    const d = this.attempts;
    this.attempts = 0;
    return d;
  }

  /** This instance's part of the limit, 0–1, from the demand of every instance. */
  setShare(share: number, now: number): void {
    const s = Math.min(1, Math.max(MIN_SHARE, share));
    if (Math.abs(s - this.share) < 0.001) return;
    this.share = s;
    this.bucket.setRate(this.tps * s, now);
  }

  get currentShare(): number {
    return this.share;
  }
}
