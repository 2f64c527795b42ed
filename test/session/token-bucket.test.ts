import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../../src/session/token-bucket.js';

function takeAll(b: TokenBucket, now: number): number {
  let n = 0;
  while (b.take(now)) if (++n > 1_000_000) throw new Error('bucket never empties');
  return n;
}

describe('TokenBucket', () => {
  it('allows a full burst at once, then refuses', () => {
    const b = new TokenBucket(10, 5, 0);
    expect(b.unlimited).toBe(false);
    expect(takeAll(b, 0)).toBe(5);
    expect(b.take(0)).toBe(false);
  });

  it('refills at the rate, lazily from the clock', () => {
    const b = new TokenBucket(10, 5, 0); // one token per 100 ms
    takeAll(b, 0);
    expect(b.take(99)).toBe(false);
    expect(b.take(100)).toBe(true);
    expect(b.take(100)).toBe(false);
    expect(takeAll(b, 350)).toBe(2); // 2.5 tokens accrued: 2 whole
    expect(b.take(399)).toBe(false);
    expect(b.take(400)).toBe(true); // the half token carried over
  });

  it('never holds more than the burst', () => {
    const b = new TokenBucket(100, 3, 0);
    expect(takeAll(b, 60_000)).toBe(3);
  });

  it('sustains exactly the rate over a long run', () => {
    const b = new TokenBucket(50, 1, 0);
    let n = 0;
    for (let t = 0; t <= 10_000; t++) if (b.take(t)) n++;
    expect(n).toBe(1 + 50 * 10); // the initial token plus 50/s for 10 s
  });

  it('says how long to wait for the next token', () => {
    const b = new TokenBucket(10, 2, 0);
    expect(b.waitMs(0)).toBe(0);
    takeAll(b, 0);
    expect(b.waitMs(0)).toBe(100);
    expect(b.waitMs(40)).toBe(60);
    expect(b.waitMs(75)).toBe(25);
    expect(b.waitMs(100)).toBe(0);
    expect(b.take(100)).toBe(true);
  });

  it('rounds the wait up to whole milliseconds', () => {
    const b = new TokenBucket(3, 1, 0);
    takeAll(b, 0);
    expect(b.waitMs(0)).toBe(334);
    expect(b.take(333)).toBe(false);
    expect(b.take(334)).toBe(true);
  });

  it('does not refill or break when the clock goes backwards', () => {
    const b = new TokenBucket(10, 2, 1000);
    takeAll(b, 1000);
    expect(b.take(500)).toBe(false);
    expect(b.waitMs(500)).toBe(100);
    expect(b.take(1100)).toBe(true);
  });

  it('is unlimited when the rate is zero or negative', () => {
    for (const rate of [0, -1]) {
      const b = new TokenBucket(rate, 0, 0);
      expect(b.unlimited).toBe(true);
      for (let i = 0; i < 10_000; i++) expect(b.take(0)).toBe(true);
      expect(b.waitMs(0)).toBe(0);
    }
  });

  it('supports fractional rates (one every 2 s)', () => {
    const b = new TokenBucket(0.5, 1, 0);
    expect(b.take(0)).toBe(true);
    expect(b.waitMs(0)).toBe(2000);
    expect(b.take(1999)).toBe(false);
    expect(b.take(2000)).toBe(true);
  });
});
