/** telemetry/fast-metrics.ts: FastHistogram keeps one recorder per label value, and its buckets are cumulative. */
import { describe, expect, it } from 'vitest';
import { FastHistogram } from '../../src/telemetry/fast-metrics.js';

describe('FastHistogram', () => {
  it('gives the same recorder for a label value every time, and counts what each records', async () => {
    const h = new FastHistogram('t_seconds', 'test', 'action', [0.001, 0.01]);
    expect(h.labels('forward')).toBe(h.labels('forward'));
    expect(h.labels('forward')).not.toBe(h.labels('reject'));
    h.labels('forward').observe(0.0005);
    h.labels('forward').observe(0.005);
    h.labels('reject').observe(1);
    const { values } = await h.get();
    const at = (action: string, le: number | string) => values.find((v) => v.metricName === 't_seconds_bucket' && v.labels.action === action && v.labels.le === le)?.value;
    expect([at('forward', 0.001), at('forward', 0.01), at('forward', '+Inf')]).toEqual([1, 2, 2]);
    expect([at('reject', 0.01), at('reject', '+Inf')]).toEqual([0, 1]);
  });
});
