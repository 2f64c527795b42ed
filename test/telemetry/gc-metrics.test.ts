import { describe, expect, it } from 'vitest';
import { GC_BUCKETS, Metrics } from '../../src/telemetry/metrics.js';

describe('GC pause metrics', () => {
  it('exports nodejs_gc_duration_seconds with millisecond buckets once collections happen', async () => {
    const m = new Metrics(true);
    // Allocate enough short-lived garbage for several scavenges.
    let keep = 0;
    for (let i = 0; i < 200_000; i++) keep += new Array(64).fill(i).length;
    expect(keep).toBeGreaterThan(0);
    let text = '';
    for (let i = 0; i < 50 && !/nodejs_gc_duration_seconds_count\{kind="minor"\} [1-9]/.test(text); i++) {
      await new Promise((r) => setTimeout(r, 20)); // the GC observer reports asynchronously
      text = await m.text();
    }
    expect(text).toMatch(/nodejs_gc_duration_seconds_count\{kind="minor"\} [1-9]/);
    for (const le of GC_BUCKETS) expect(text).toContain(`nodejs_gc_duration_seconds_bucket{le="${le}",kind="minor"}`);
    // And the event-loop delay the pauses cause.
    expect(text).toContain('nodejs_eventloop_lag_p99_seconds');
  });
});
