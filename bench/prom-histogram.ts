/**
 * A Prometheus histogram read off a gateway's /metrics text, and its quantile over an interval (the
 * difference of two readings), estimated as PromQL's histogram_quantile() does: linearly inside the
 * bucket the rank falls in. The bench uses it to say how much of the latency it measured was the
 * gateway's own time to a verdict (smppguard_decision_seconds) and how much the policy check's
 * Redis round trip (smppguard_redis_seconds{op="policy_check"}).
 */

/** Cumulative counts by upper bound (seconds; Infinity for +Inf), summed over the series that matched. */
export type Buckets = Map<number, number>;

/**
 * The buckets of histogram `name` in `text`, summed over every series whose labels include all of
 * `match` (e.g. { op: 'policy_check' }); an empty map when there is no such series.
 */
export function parseHistogram(text: string, name: string, match: Record<string, string> = {}): Buckets {
  const out: Buckets = new Map();
  const prefix = `${name}_bucket{`;
  const wanted = Object.entries(match).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(prefix)) continue;
    const close = line.lastIndexOf('}');
    const labels = line.slice(prefix.length, close);
    if (!wanted.every((w) => labels.includes(w))) continue;
    const le = /(?:^|,)le="([^"]*)"/.exec(labels)?.[1];
    if (le === undefined) continue;
    const bound = le === '+Inf' ? Infinity : Number(le);
    const n = Number(line.slice(close + 1).trim().split(' ')[0]);
    if (Number.isNaN(bound)) continue;
    out.set(bound, (out.get(bound) ?? 0) + n);
  }
  return out;
}

/**
 * The q-quantile (0–1) in seconds of what was observed between `before` and `after`; null when
 * nothing was. A rank in the +Inf bucket gives the highest finite bound (as histogram_quantile).
 */
export function quantileBetween(before: Buckets, after: Buckets, q: number): number | null {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const cum = bounds.map((b) => (after.get(b) ?? 0) - (before.get(b) ?? 0));
  const total = cum[cum.length - 1] ?? 0;
  if (total <= 0) return null;
  const rank = q * total;
  for (let i = 0; i < bounds.length; i++) {
    if (cum[i]! < rank) continue;
    if (bounds[i] === Infinity) return i > 0 ? bounds[i - 1]! : null;
    const lower = i > 0 ? bounds[i - 1]! : 0;
    const below = i > 0 ? cum[i - 1]! : 0;
    const inBucket = cum[i]! - below;
    return inBucket > 0 ? lower + (bounds[i]! - lower) * ((rank - below) / inBucket) : bounds[i]!;
  }
  return null;
}
