/**
 * Account limits that hold across gateway instances, kept in Redis: max_binds counted over every
 * instance, and TPS split by demand (session/shared-rate.ts). Each account's keys
 * carry its own hash tag, so these are single-slot calls on Redis Cluster. If Redis cannot be
 * asked, each instance enforces the limits on its own (the single-instance behaviour).
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { SharedRate } from '../session/shared-rate.js';
import { withScripts, type ScriptClient } from '../store/scripts.js';
import type { Metrics } from '../telemetry/metrics.js';

/** An instance not heard from for this long no longer counts toward max_binds (it crashed). */
const STALE_MS = 15_000;
const HEARTBEAT_MS = 5000;
/**
 * A {binds:…} key lives this long after its last reservation or heartbeat (refreshed every
 * HEARTBEAT_MS while any instance holding binds is alive): when every instance died, it goes.
 */
export const BINDS_TTL_MS = STALE_MS * 4;
/** How often instances report TPS demand and take their share. */
const SHARE_MS = 500;

export class SharedLimits {
  readonly instanceId = randomBytes(6).toString('hex');
  private readonly local = new Map<string, number>();
  /** Reservations sent and not yet answered, per account (the heartbeat must not overwrite their count). */
  private readonly reserving = new Map<string, number>();
  private readonly rates = new Map<string, SharedRate>();
  private timers: NodeJS.Timeout[] = [];
  private readonly scripts: ScriptClient;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly metrics: Metrics,
    private readonly now: () => number = Date.now,
  ) {
    this.scripts = withScripts(redis);
  }

  bindsKey(account: string): string {
    return `${this.prefix}{binds:${account}}`;
  }

  /** The TPS limiter of an account (shared with the other instances once start() runs). */
  rateFor(account: string, tps: number, now: number): SharedRate {
    const r = new SharedRate(tps, now);
    this.rates.set(account, r);
    return r;
  }

  private async shareRates(): Promise<void> {
    const now = Date.now();
    await Promise.all(
      [...this.rates].map(async ([account, rate]) => {
        try {
          const [mine, total, live] = await this.scripts.sgTpsShare(`${this.prefix}{tps:${account}}`, this.instanceId, rate.takeDemand(), now, SHARE_MS * 4);
          rate.setShare(total > 0 ? mine / total : 1 / Math.max(1, live), this.now());
        } catch {
          this.metrics.redisErrors.inc({ op: 'tps_share' });
        }
      }),
    );
  }

  /** One more bind for `account` over all instances; true if under `max` (or Redis could not say). */
  async reserveBind(account: string, max: number): Promise<boolean> {
    let ok: boolean;
    this.reserving.set(account, (this.reserving.get(account) ?? 0) + 1);
    try {
      ok = (await this.scripts.sgBindReserve(this.bindsKey(account), this.instanceId, max, Date.now(), STALE_MS)) === 1;
    } catch {
      this.metrics.redisErrors.inc({ op: 'bind_reserve' });
      ok = true; // the local max_binds check still applies
    } finally {
      const left = this.reserving.get(account)! - 1;
      if (left > 0) this.reserving.set(account, left);
      else this.reserving.delete(account);
    }
    if (ok) this.local.set(account, (this.local.get(account) ?? 0) + 1);
    return ok;
  }

  releaseBind(account: string): void {
    const n = Math.max(0, (this.local.get(account) ?? 1) - 1);
    this.local.set(account, n);
    const key = this.bindsKey(account);
    const m = this.redis.multi();
    // With none of this instance's reservations in flight, its count is its own to say. Writing it,
    // rather than taking one off, keeps a bind that a reservation Redis never answered let in from
    // taking Redis's count below zero on release, where it hid one bind from every instance until
    // the next heartbeat (test/cluster/scale-out.test.ts saw a fourth bind of max_binds 3 so).
    if (this.reserving.has(account)) m.hincrby(key, this.instanceId, -1);
    else m.hset(key, this.instanceId, n, `${this.instanceId}:seen`, Date.now());
    m.pexpire(key, BINDS_TTL_MS)
      .exec()
      .then((r) => (r?.some(([err]) => err) ? this.metrics.redisErrors.inc({ op: 'bind_release' }) : undefined))
      .catch(() => this.metrics.redisErrors.inc({ op: 'bind_release' }));
  }

  /** Keeps this instance's counts alive (and corrects them) every few seconds. */
  start(): void {
    let sharing = false;
    const share = setInterval(() => {
      if (sharing || this.rates.size === 0) return;
      sharing = true;
      void this.shareRates().finally(() => (sharing = false));
    }, SHARE_MS);
    const beat = setInterval(() => this.heartbeat(), HEARTBEAT_MS);
    for (const t of [share, beat]) t.unref();
    this.timers = [share, beat];
  }

  /**
   * What the timer sends every HEARTBEAT_MS: per account, this instance's bind count (correcting
   * Redis's) and when it was said. Not the count while a reservation is unanswered: Redis may have
   * counted it already and this instance not yet, and writing the smaller figure would let one bind
   * too many in (test/cluster/scale-out.test.ts once saw a fourth bind of max_binds: 3 taken under
   * load, which this explains).
   */
  heartbeat(): void {
    const now = Date.now();
    for (const [account, n] of this.local) {
      const key = this.bindsKey(account);
      const m = this.redis.multi();
      if (this.reserving.has(account)) m.hset(key, `${this.instanceId}:seen`, now);
      else m.hset(key, this.instanceId, n, `${this.instanceId}:seen`, now);
      m.pexpire(key, BINDS_TTL_MS)
        .exec()
        .catch(() => this.metrics.redisErrors.inc({ op: 'bind_heartbeat' }));
    }
  }

  /** Graceful stop: this instance's binds no longer count. */
  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    await Promise.all(
      [...this.local.keys()].map((a) => this.redis.hdel(this.bindsKey(a), this.instanceId, `${this.instanceId}:seen`).catch(() => 0)),
    );
  }
}
