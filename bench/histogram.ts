/**
 * A fixed-size log-linear latency histogram in microseconds (HdrHistogram-style): exact below
 * 64 µs, then 32 sub-buckets per power of two (≤ 3 % relative error) up to ~35 minutes.
 * Recording is one Math.clz32 and one array increment; no samples are kept.
 */
const SUB_BITS = 5;
const SUB = 1 << SUB_BITS; // 32 sub-buckets per octave
const LINEAR = SUB * 2; // 0..63 µs recorded exactly
const MAX_EXP = 31;
const BUCKETS = LINEAR + (MAX_EXP - 6) * SUB;

export class Histogram {
  readonly counts = new Float64Array(BUCKETS);
  count = 0;
  maxUs = 0;
  sumUs = 0;

  /** Records one value in microseconds (fractions are truncated, negatives count as 0). */
  record(us: number): void {
    const v = us > 0 ? (us < 0x7fffffff ? us | 0 : 0x7ffffffe) : 0;
    this.counts[bucketOf(v)]!++;
    this.count++;
    this.sumUs += v;
    if (v > this.maxUs) this.maxUs = v;
  }

  merge(other: Histogram): void {
    for (let i = 0; i < BUCKETS; i++) this.counts[i]! += other.counts[i]!;
    this.count += other.count;
    this.sumUs += other.sumUs;
    if (other.maxUs > this.maxUs) this.maxUs = other.maxUs;
  }

  /** The value (µs, bucket midpoint, capped at the max seen) below which fraction q of samples lie. */
  quantileUs(q: number): number {
    if (this.count === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.min(midpointOf(i), this.maxUs);
    }
    return this.maxUs;
  }
}

export function bucketOf(v: number): number {
  if (v < LINEAR) return v;
  const e = 31 - Math.clz32(v); // v in [2^e, 2^(e+1)), e >= 6
  const shift = e - SUB_BITS;
  return LINEAR + (e - 6) * SUB + ((v >>> shift) - SUB);
}

/** Lower bound and width of bucket i, in µs. */
export function boundsOf(i: number): [number, number] {
  if (i < LINEAR) return [i, 1];
  const k = i - LINEAR;
  const e = 6 + Math.floor(k / SUB);
  const shift = e - SUB_BITS;
  return [((k % SUB) + SUB) * 2 ** shift, 2 ** shift];
}

function midpointOf(i: number): number {
  const [lo, w] = boundsOf(i);
  return w === 1 ? lo : lo + w / 2;
}
