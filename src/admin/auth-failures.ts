/**
 * Failed admin-token attempts, per source address: counted (`smppguard_admin_auth_failures_total`
 * by reason), logged at most once a minute per address (the line carries how many failed since the
 * last one), and slowed — after `free_attempts` failures each further 401 from that address waits
 * `delay_ms`, doubling per failure up to `max_delay_ms`. An address is forgotten `forget_s` after
 * its last failure, and at most `max_addresses` are remembered (the one that failed longest ago
 * goes first), so the table cannot grow with the addresses an attacker can spend. A success does
 * not clear the count: a holder of one token must not be able to reset its guesses at another.
 * Hand-written: the rate-limit plugins count requests, not failures, and do not delay.
 */
import { Counter } from 'prom-client';
import type { Config } from '../config/schema.js';
import type { Logger } from '../telemetry/log.js';
import type { Metrics } from '../telemetry/metrics.js';

export type FailureReason = 'missing' | 'malformed' | 'invalid';

interface Seen {
  /** Failures since the count was last forgotten. */
  n: number;
  last: number;
  loggedAt: number;
  /** Failures not yet reported in a log line. */
  unlogged: number;
}

export class AuthFailures {
  private readonly seen = new Map<string, Seen>();
  private readonly counter: Counter<'reason'> | null;

  constructor(
    private readonly cfg: Config['admin']['failed_auth'],
    private readonly log: Logger | null,
    metrics: Metrics | null,
    private readonly now: () => number = Date.now,
  ) {
    this.counter = metrics
      ? new Counter({
          name: 'smppguard_admin_auth_failures_total',
          help: 'Admin API requests refused 401 (reason: missing header, malformed header, invalid token)',
          labelNames: ['reason'],
          registers: [metrics.registry],
        })
      : null;
    for (const r of ['missing', 'malformed', 'invalid'] as const) this.counter?.inc({ reason: r }, 0);
  }

  /** Addresses remembered now (bounded by max_addresses). */
  get size(): number {
    return this.seen.size;
  }

  /** Records a failure from `ip`; the ms its 401 should wait. */
  fail(ip: string, reason: FailureReason): number {
    const t = this.now();
    this.counter?.inc({ reason });
    let s = this.seen.get(ip);
    if (s && t - s.last > this.cfg.forget_s * 1000) s = undefined;
    this.seen.delete(ip); // re-inserted last: the map's order is "failed longest ago first"
    s ??= { n: 0, last: t, loggedAt: -Infinity, unlogged: 0 };
    s.n++;
    s.unlogged++;
    s.last = t;
    this.seen.set(ip, s);
    while (this.seen.size > this.cfg.max_addresses) this.seen.delete(this.seen.keys().next().value!);
    if (t - s.loggedAt >= 60_000) {
      this.log?.warn({ ip, reason, failures: s.unlogged, total: s.n }, 'admin API: refused a request without a valid bearer token (at most one line a minute per address)');
      s.loggedAt = t;
      s.unlogged = 0;
    }
    const over = s.n - this.cfg.free_attempts;
    if (over <= 0 || this.cfg.delay_ms === 0) return 0;
    return Math.min(this.cfg.max_delay_ms, this.cfg.delay_ms * 2 ** Math.min(over - 1, 30));
  }
}
