/**
 * Hot-path counting without prom-client's label hashing: counts kept in plain Maps and arrays,
 * handed to Prometheus only when it scrapes (LabelCounts as counter deltas, FastHistogram as a
 * custom histogram metric).
 */
/** Counts keyed by a label tuple joined with \u0001, handed to a prom-client counter as deltas. */
export class LabelCounts<L extends string> {
  private readonly counts = new Map<string, number>();
  private readonly reported = new Map<string, number>();
  constructor(private readonly labelNames: readonly L[]) {}

  add(key: string, n = 1): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + n);
  }

  get(key: string): number {
    return this.counts.get(key) ?? 0;
  }

  flush(inc: (labels: Record<L, string>, n: number) => void): void {
    for (const [key, n] of this.counts) {
      const done = this.reported.get(key) ?? 0;
      if (n === done) continue;
      const parts = key.split('\u0001');
      const labels = {} as Record<L, string>;
      this.labelNames.forEach((l, i) => (labels[l] = parts[i] ?? ''));
      inc(labels, n - done);
      this.reported.set(key, n);
    }
  }
}

/**
 * A Prometheus histogram with one label, kept in plain arrays: observe() is a bucket search and
 * three additions, with no label hashing. Registered on the registry as a custom metric.
 */
export class FastHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly series = new Map<string, { counts: Float64Array; sum: number; count: number }>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly label: string,
    private readonly buckets: readonly number[],
  ) {}

  /** A recorder bound to one label value, for the hot path. */
  labels(value: string): { observe(v: number): void } {
    let s = this.series.get(value);
    if (!s) {
      s = { counts: new Float64Array(this.buckets.length + 1), sum: 0, count: 0 };
      this.series.set(value, s);
    }
    const series = s;
    const b = this.buckets;
    return {
      observe(v: number) {
        let i = 0;
        while (i < b.length && v > b[i]!) i++;
        series.counts[i]!++;
        series.sum += v;
        series.count++;
      },
    };
  }

  async get() {
    const values: { metricName: string; labels: Record<string, string | number>; value: number }[] = [];
    for (const [lv, s] of this.series) {
      let cum = 0;
      this.buckets.forEach((le, i) => {
        cum += s.counts[i]!;
        values.push({ metricName: `${this.name}_bucket`, labels: { [this.label]: lv, le }, value: cum });
      });
      values.push({ metricName: `${this.name}_bucket`, labels: { [this.label]: lv, le: '+Inf' }, value: s.count });
      values.push({ metricName: `${this.name}_sum`, labels: { [this.label]: lv }, value: s.sum });
      values.push({ metricName: `${this.name}_count`, labels: { [this.label]: lv }, value: s.count });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    this.series.clear();
  }
}
