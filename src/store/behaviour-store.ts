/**
 * Sender behaviour profiles' own Redis calls, off the hot path (the hot path's reads and bumps
 * ride the rate counters' batch: rate-layout.ts ops q/b/u, store/lua/behaviour.lua):
 *
 *   - receipts: each final receipt of a mapped message becomes one bit in its sender's ring of the
 *     last N receipts (behaviour-receipts.lua); receipts are batched per event-loop turn, at most
 *     MAX_BATCH a call, and a bounded buffer drops (and counts) what Redis cannot take;
 *   - baselines: read and set one hour-of-day slot (tests, tools, and an operator seeding a
 *     migrating sender's history);
 *   - a whole profile as plain values (explain, the admin view, the bytes bench).
 */
import type { Redis } from 'ioredis';
import { PROFILE_FIELD, RING_FIELD, packBaseline, packReceipts, profileEntity } from '../domain/behaviour.js';
import type { RateNeed } from '../domain/store-facts.js';
import { withScripts, type ScriptClient } from './scripts.js';

export interface BehaviourStoreOptions {
  /** Ring size N: the undeliverable share is over a sender's last N receipts. */
  receiptsWindow: number;
  /** A profile's lifetime after its last use, ms. */
  ttlMs: number;
  /** Receipts waiting for Redis, at most; beyond it they are dropped (onDropped). */
  maxPending?: number;
  onError?: (err: unknown) => void;
  onDropped?: (n: number) => void;
}

/** A profile read back as values. */
export interface ProfileView {
  hour: number | null;
  hourCount: number;
  /** Per hour of day (UTC) that has history: EWMA and days seen. */
  baseline: Record<number, { ewma: number; days: number }>;
  receipts: number;
  undeliverable: number;
}

/** Receipts one script call carries, at most. */
const MAX_BATCH = 512;

export class BehaviourStore {
  private readonly scripts: ScriptClient;
  private keys: string[] = [];
  private flags: string[] = [];
  private scheduled = false;
  private readonly maxPending: number;
  private inFlight = 0;

  constructor(
    readonly redis: Redis,
    readonly prefix: string,
    private readonly opts: BehaviourStoreOptions,
  ) {
    this.scripts = withScripts(redis);
    this.maxPending = opts.maxPending ?? 100_000;
  }

  profileKey(account: string, sender: string): string {
    return `${this.prefix}{${profileEntity(account, sender)}}${PROFILE_FIELD}`;
  }

  ringKey(account: string, sender: string): string {
    return `${this.prefix}{${profileEntity(account, sender)}}${RING_FIELD}`;
  }

  /** Notes one final receipt of `sender` (as the policy normalised it) of `account`; written with this turn's others. */
  recordReceipt(account: string, sender: string, undeliverable: boolean): void {
    if (this.keys.length / 2 + this.inFlight >= this.maxPending) {
      this.opts.onDropped?.(1);
      return;
    }
    this.keys.push(this.profileKey(account, sender), this.ringKey(account, sender));
    this.flags.push(undeliverable ? '1' : '0');
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => void this.flush());
    }
  }

  /** Writes every noted receipt now (one call per MAX_BATCH on a single Redis; per sender on a cluster). */
  async flush(): Promise<void> {
    this.scheduled = false;
    const keys = this.keys;
    const flags = this.flags;
    this.keys = [];
    this.flags = [];
    if (flags.length === 0) return;
    const cluster = (this.redis as { isCluster?: boolean }).isCluster === true;
    const calls: Promise<unknown>[] = [];
    const step = cluster ? 1 : MAX_BATCH;
    for (let i = 0; i < flags.length; i += step) {
      const f = flags.slice(i, i + step);
      const k = keys.slice(2 * i, 2 * (i + step));
      this.inFlight += f.length;
      calls.push(
        this.scripts
          .sgBehaviourReceipts(k.length, ...k, this.opts.receiptsWindow, Math.round(this.opts.ttlMs), ...f)
          .catch((err: unknown) => this.opts.onError?.(err))
          .finally(() => (this.inFlight -= f.length)),
      );
    }
    await Promise.all(calls);
  }

  /** Sets one hour-of-day baseline slot (UTC hour 0–23): the EWMA and how many days it has seen. */
  async setBaseline(account: string, sender: string, hourOfDay: number, ewma: number, days: number): Promise<void> {
    if (!Number.isInteger(hourOfDay) || hourOfDay < 0 || hourOfDay > 23) throw new RangeError(`hour of day 0-23, got ${hourOfDay}`);
    const key = this.profileKey(account, sender);
    await this.redis.multi().hset(key, `b${hourOfDay}`, `${ewma.toFixed(3)} ${Math.max(0, Math.floor(days))}`).pexpire(key, Math.round(this.opts.ttlMs)).exec();
  }

  /**
   * What the hot path would answer for these needs, without counting anything (explain): the
   * profile values as stored, packed as behaviour.lua packs them; the baseline's count includes
   * the message explained. Needs that are not behaviour profiles are left out (they read 0).
   */
  async peek(needs: readonly RateNeed[], now: number, minDays: number): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const n of needs) {
      if (n.entity === undefined || n.field === undefined || !n.entity.startsWith('bhv:')) continue;
      const head = `${this.prefix}{${n.entity}}`;
      const window = Math.floor(now / n.periodMs);
      if (n.kind === 'distinct') out.set(n.key, await this.redis.pfcount(`${head}${n.field}:d:${window}`));
      else if (n.kind === 'sequence') {
        const st = await this.redis.get(`${head}${n.field}:${window}`);
        out.set(n.key, st === null ? 0 : Number(st.split(' ')[6] ?? 0));
      } else if (n.kind === 'receipts') {
        const [un, ub] = await this.redis.hmget(`${head}${n.field}`, 'un', 'ub');
        out.set(n.key, packReceipts(Number(un ?? 0), Number(ub ?? 0)));
      } else if (n.kind === 'baseline') {
        const hour = Math.floor(now / 3_600_000);
        const [h, c, slot] = await this.redis.hmget(`${head}${n.field}`, 'h', 'c', `b${hour % 24}`);
        const count = (Number(h) === hour ? Number(c ?? 0) : 0) + 1;
        const [ew, days] = (slot ?? '').split(' ');
        out.set(n.key, packBaseline(count, slot !== null && Number(days) >= minDays ? Math.round(Number(ew) * 10) / 10 : null));
      }
    }
    return out;
  }

  /** A sender's profile as values (null: none stored). */
  async profile(account: string, sender: string): Promise<ProfileView | null> {
    const h = await this.redis.hgetall(this.profileKey(account, sender));
    if (Object.keys(h).length === 0) return null;
    const baseline: ProfileView['baseline'] = {};
    for (let d = 0; d < 24; d++) {
      const v = h[`b${d}`];
      if (v === undefined) continue;
      const [ew, days] = v.split(' ');
      baseline[d] = { ewma: Number(ew), days: Number(days) };
    }
    return {
      hour: h.h === undefined ? null : Number(h.h),
      hourCount: Number(h.c ?? 0),
      baseline,
      receipts: Number(h.un ?? 0),
      undeliverable: Number(h.ub ?? 0),
    };
  }
}
