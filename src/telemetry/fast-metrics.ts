/**
 * Hot-path counting without prom-client's label hashing: counts kept in plain Maps and arrays,
 * handed to Prometheus only when it scrapes (LabelCounts as counter deltas, FastHistogram as a
 * custom histogram metric).
 */
/**
 * Counts keyed by a label tuple joined with \u0001, handed to a prom-client counter as deltas. One
 * cell per key: add() is one Map lookup and an increment (a get and a set before; issue 23).
 */
export class LabelCounts<L extends string> {
  private readonly cells = new Map<string, { n: number; done: number }>();
  constructor(private readonly labelNames: readonly L[]) {}

  add(key: string, n = 1): void {
    const c = this.cells.get(key);
    if (c !== undefined) c.n += n;
    else this.cells.set(key, { n, done: 0 });
  }

  get(key: string): number {
    return this.cells.get(key)?.n ?? 0;
  }

  flush(inc: (labels: Record<L, string>, n: number) => void): void {
    for (const [key, c] of this.cells) {
      if (c.n === c.done) continue;
      const parts = key.split('\u0001');
      const labels = {} as Record<L, string>;
      this.labelNames.forEach((l, i) => (labels[l] = parts[i] ?? ''));
      const delta = c.n - c.done;
      c.done = c.n;
      inc(labels, delta);
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
  private readonly series = new Map<string, { counts: Float64Array; sum: number; count: number; recorder: { observe(v: number): void } }>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly label: string,
    private readonly buckets: readonly number[],
  ) {}

  /** The recorder of one label value, for the hot path: made once per value and kept, so callers need no cache of their own. */
  labels(value: string): { observe(v: number): void } {
    const known = this.series.get(value);
    if (known) return known.recorder;
    const b = this.buckets;
    const series = {
      counts: new Float64Array(b.length + 1),
      sum: 0,
      count: 0,
      recorder: {
        observe(v: number) {
          let i = 0;
          while (i < b.length && v > b[i]!) i++;
          series.counts[i]!++;
          series.sum += v;
          series.count++;
        },
      },
    };
    this.series.set(value, series);
    return series.recorder;
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
