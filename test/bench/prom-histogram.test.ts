import { describe, expect, it } from 'vitest';
import { parseHistogram, quantileBetween } from '../../bench/prom-histogram.js';

const text = (forward: number[], reject: number[], redis: number[]) =>
  [
    '# HELP smppguard_decision_seconds x',
    '# TYPE smppguard_decision_seconds histogram',
    ...['0.001', '0.01', '0.1', '+Inf'].flatMap((le, i) => [
      `smppguard_decision_seconds_bucket{action="forward",le="${le}"} ${forward[i]}`,
      `smppguard_decision_seconds_bucket{action="reject",le="${le}"} ${reject[i]}`,
      `smppguard_redis_seconds_bucket{op="policy_check",le="${le}"} ${redis[i]}`,
      `smppguard_redis_seconds_bucket{op="rates",le="${le}"} 1000`,
    ]),
    'smppguard_decision_seconds_sum{action="forward"} 1',
  ].join('\n');

describe('parseHistogram', () => {
  it('sums the buckets of every series that matches, and only those', () => {
    const t = text([10, 20, 30, 30], [1, 2, 3, 4], [5, 6, 7, 8]);
    expect([...parseHistogram(t, 'smppguard_decision_seconds')]).toEqual([
      [0.001, 11],
      [0.01, 22],
      [0.1, 33],
      [Infinity, 34],
    ]);
    expect(parseHistogram(t, 'smppguard_redis_seconds', { op: 'policy_check' }).get(Infinity)).toBe(8);
    expect(parseHistogram(t, 'smppguard_nothing').size).toBe(0);
  });
});

describe('quantileBetween', () => {
  it('interpolates inside the bucket of the rank, over the interval only', () => {
    const before = parseHistogram(text([100, 100, 100, 100], [0, 0, 0, 0], [0, 0, 0, 0]), 'smppguard_decision_seconds');
    // 100 more: 50 under 1 ms, 40 in (1 ms, 10 ms], 10 in (10 ms, 100 ms].
    const after = parseHistogram(text([150, 190, 200, 200], [0, 0, 0, 0], [0, 0, 0, 0]), 'smppguard_decision_seconds');
    expect(quantileBetween(before, after, 0.5)).toBeCloseTo(0.001);
    expect(quantileBetween(before, after, 0.7)).toBeCloseTo(0.001 + 0.009 * (20 / 40));
    expect(quantileBetween(before, after, 0.99)).toBeCloseTo(0.01 + 0.09 * (9 / 10));
  });

  it('gives the highest finite bound for a rank in +Inf, and null when nothing was observed', () => {
    const none = parseHistogram(text([0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]), 'smppguard_decision_seconds');
    const slow = parseHistogram(text([0, 0, 0, 10], [0, 0, 0, 0], [0, 0, 0, 0]), 'smppguard_decision_seconds');
    expect(quantileBetween(none, slow, 0.99)).toBe(0.1);
    expect(quantileBetween(slow, slow, 0.99)).toBeNull();
  });
});
