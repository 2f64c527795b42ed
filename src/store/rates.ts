/**
 * Rate counters for rules (flooding caps, frequency limits): bump every counter a message touches
 * and read the values after the bump, in one script call per hash slot.
 *
 * Windows are FIXED and aligned to the window size on the epoch: window index = floor(now /
 * windowMs), part of the key, so a new window starts from an absent key and nothing has to be reset.
 * Cheap (one INCR or PFADD+PFCOUNT per counter, one key per counter per window) and simple, at the
 * usual fixed-window price: a sender can fit up to 2×max into any span of one window length that
 * straddles a boundary. Daily windows (86 400 s) roll over at 00:00 UTC, not local midnight.
 *
 *   count     INCR; PEXPIRE on the first increment
 *   distinct  PFADD member; PFCOUNT (HyperLogLog: 12 KB at most per key, ~0.8 % standard error)
 *
 * A key lives for the rest of its window plus `slackMs` (default 5 s, covering clock differences
 * between gateway instances), relative to Redis's own clock, so Redis and gateway clocks need not
 * agree. That is at most windowMs + slackMs after the first bump (never the 2 × window a plain
 * "TTL = window" from the first bump would allow).
 *
 * Keys and slots: a RateNeed key such as "rate:recipient:8613800138000:86400" becomes
 *
 *   <prefix>{rate:recipient:8613800138000}:86400:c:<window index>
 *
 * The hash tag is the counter's entity: the need's key without a trailing window segment (the window
 * in seconds or ms), so every window of one entity (15/min and 50/day for the same recipient) lives
 * in one slot and costs one script call, while different entities spread over a cluster. A key that
 * already carries a hash tag ("{…}") keeps it, so the rules can co-locate counters on purpose. Needs
 * are grouped by the slot Redis will actually compute for the final key, and the per-slot calls run
 * concurrently (on one Redis instance with auto-pipelining they leave in one write). The kind (c/d)
 * is in the key because INCR and PFADD cannot share one.
 *
 * On the gateway's hot path the counters get no call of their own: plan() turns a message's needs
 * into PlannedCounters and PolicyStore.fetchThen() bumps them in the same batched script call as the
 * consent/DND check (policy-check-batch.lua: same keys, same semantics), falling back to
 * bumpPlanned() here on a cluster.
 */
import type { Redis } from 'ioredis';
import type { RateNeed } from '../rules/types.js';
import { systemClock, type Clock } from '../session/clock.js';
import { luaScript } from './redis.js';
import { hashTag } from './slots.js';

export interface RateStoreOptions {
  /** Where "now" comes from (window index and TTL); default the system clock. */
  clock?: Pick<Clock, 'now'>;
  /** Extra lifetime after a window ends, in ms. Default 5000. */
  slackMs?: number;
}

type ScriptClient = Redis & { sgRateBump(numKeys: number, ...args: (string | number | (string | number)[])[]): Promise<number[]> };

/** The counter's entity: the key without a trailing ":<window>" segment (window in s or ms). */
export function rateEntity(key: string, windowMs: number): string {
  const colon = key.lastIndexOf(':');
  if (colon <= 0) return key;
  // The last segment must be all digits (checked without a regex or a slice: per counter, per message).
  if (colon === key.length - 1) return key;
  let n = 0;
  for (let i = colon + 1; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return key;
    n = n * 10 + (c - 0x30);
  }
  if (!Number.isSafeInteger(n)) n = Number(key.slice(colon + 1));
  return n * 1000 === windowMs || n === windowMs ? key.slice(0, colon) : key;
}

/** One counter of one message, ready for a script call (rates.lua, or policy-check-batch.lua with the consent check). */
export interface PlannedCounter {
  /** RateNeed.key: what the rules look the value up by. */
  readonly needKey: string;
  readonly redisKey: string;
  /** c: count (INCR); d: distinct, add `member`; r: distinct, nothing to add. */
  readonly op: 'c' | 'd' | 'r';
  readonly ttlMs: number;
  /** The member for d, "" otherwise. */
  readonly member: string;
  /** Neither key nor member holds a TAB or newline (what one batched string can carry). */
  readonly plain: boolean;
}

const hasBreak = (s: string): boolean => s.indexOf('\t') >= 0 || s.indexOf('\n') >= 0;

interface PendingBump {
  plans: readonly PlannedCounter[];
  resolve(values: number[]): void;
  reject(err: unknown): void;
}

/** Most counters one batched script call carries. */
const MAX_BATCH_KEYS = 2048;

export class RateStore {
  private readonly clock: Pick<Clock, 'now'>;
  private readonly slackMs: number;
  private pending: PendingBump[] = [];
  private flushScheduled = false;
  private readonly prefixPlain: boolean;
  /** ":<kind>:<window index>" by kind and window length, for the window current at the last use. */
  private readonly suffixes = new Map<number, { window: number; suffix: string }>();

  constructor(
    readonly redis: Redis,
    readonly prefix: string,
    opts: RateStoreOptions = {},
  ) {
    this.clock = opts.clock ?? systemClock;
    this.slackMs = opts.slackMs ?? 5_000;
    this.prefixPlain = !hasBreak(prefix);
    if (!('sgRateBump' in redis)) redis.defineCommand('sgRateBump', { lua: luaScript('rates.lua') });
  }

  /** The Redis key of a counter's current window. */
  keyFor(need: RateNeed, now = this.clock.now()): string {
    const suffix = this.suffix(need, now);
    if (hashTag(need.key) !== need.key) return this.prefix + need.key + suffix;
    const entity = rateEntity(need.key, need.windowMs);
    return `${this.prefix}{${entity}}${need.key.slice(entity.length)}${suffix}`;
  }

  /** ":c:<window index>" or ":d:<window index>", built once per window. */
  private suffix(need: RateNeed, now: number): string {
    const window = Math.floor(now / need.windowMs);
    const slot = need.kind === 'count' ? need.windowMs : -need.windowMs;
    let hit = this.suffixes.get(slot);
    if (hit === undefined || hit.window !== window) {
      hit = { window, suffix: `:${need.kind === 'count' ? 'c' : 'd'}:${window}` };
      if (this.suffixes.size < 64 || this.suffixes.has(slot)) this.suffixes.set(slot, hit);
    }
    return hit.suffix;
  }

  /**
   * The script-call entries for one message's counters, at the current time: a key listed twice
   * (two rules sharing a counter) is planned once. Throws RangeError for a need without a usable
   * window.
   */
  plan(needs: readonly RateNeed[]): PlannedCounter[] {
    const now = this.clock.now();
    const plans: PlannedCounter[] = [];
    // Few counters a message: a linear look for duplicates beats a Set.
    const seen = needs.length > 8 ? new Set<string>() : null;
    for (let i = 0; i < needs.length; i++) {
      const need = needs[i]!;
      if (seen !== null) {
        if (seen.has(need.key)) continue;
        seen.add(need.key);
      } else {
        let dup = false;
        for (let j = 0; j < i; j++) if (needs[j]!.key === need.key) dup = true;
        if (dup) continue;
      }
      if (!Number.isFinite(need.windowMs) || need.windowMs < 1) {
        throw new RangeError(`rate counter ${need.key}: windowMs must be a positive number, got ${need.windowMs}`);
      }
      const windowEnd = (Math.floor(now / need.windowMs) + 1) * need.windowMs;
      const member = need.kind === 'distinct' && need.member !== undefined ? need.member : '';
      plans.push({
        needKey: need.key,
        redisKey: this.keyFor(need, now),
        op: need.kind === 'count' ? 'c' : need.member === undefined ? 'r' : 'd',
        ttlMs: Math.max(1, Math.ceil(windowEnd - now + this.slackMs)),
        member,
        plain: this.prefixPlain && !hasBreak(need.key) && member.indexOf('\n') < 0,
      });
    }
    return plans;
  }

  /**
   * Bumps every counter once for this message and returns each need's value after the bump, by
   * need.key. A key listed twice (two rules sharing a counter) is bumped once. Rejects when Redis
   * does not answer within the client's command timeout.
   */
  bump(needs: readonly RateNeed[]): Promise<Map<string, number>> {
    if (needs.length === 0) return Promise.resolve(new Map());
    let plans: PlannedCounter[];
    try {
      plans = this.plan(needs);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.bumpPlanned(plans).then((values) => {
      const out = new Map<string, number>();
      for (let i = 0; i < plans.length; i++) out.set(plans[i]!.needKey, values[i]!);
      return out;
    });
  }

  /** Bumps planned counters; the values come back in plan order. */
  bumpPlanned(plans: readonly PlannedCounter[]): Promise<number[]> {
    if (plans.length === 0) return Promise.resolve([]);
    if ((this.redis as { isCluster?: boolean }).isCluster) return this.bumpBySlot(plans);
    // One Redis: every counter of every message of this event-loop turn goes in one script call.
    return new Promise((resolve, reject) => {
      this.pending.push({ plans, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.flushScheduled = false;
    let batch: PendingBump[] = [];
    let keys = 0;
    for (const p of this.pending) {
      if (keys + p.plans.length > MAX_BATCH_KEYS && batch.length > 0) {
        this.runBatch(batch);
        batch = [];
        keys = 0;
      }
      batch.push(p);
      keys += p.plans.length;
    }
    this.pending = [];
    if (batch.length > 0) this.runBatch(batch);
  }

  private runBatch(batch: PendingBump[]): void {
    let n = 0;
    for (const b of batch) n += b.plans.length;
    // KEYS then ARGV in one array (ioredis flattens array arguments: no spread of thousands of values).
    const flat: (string | number)[] = new Array<string | number>(4 * n);
    let k = 0;
    let a = n;
    for (const { plans } of batch) {
      for (const p of plans) {
        flat[k++] = p.redisKey;
        flat[a++] = p.op;
        flat[a++] = p.ttlMs;
        flat[a++] = p.member;
      }
    }
    (this.redis as ScriptClient).sgRateBump(n, flat).then(
      (values) => {
        let i = 0;
        for (const b of batch) {
          const out = new Array<number>(b.plans.length);
          for (let j = 0; j < out.length; j++) out[j] = Number(values[i++]);
          b.resolve(out);
        }
      },
      (err) => {
        for (const b of batch) b.reject(err);
      },
    );
  }

/** Redis Cluster: one script call per hash slot, concurrently. */
  private async bumpBySlot(plans: readonly PlannedCounter[]): Promise<number[]> {
    const out = new Array<number>(plans.length);
    const slots = new Map<string, number[]>();
    for (let i = 0; i < plans.length; i++) {
      const tag = hashTag(plans[i]!.redisKey);
      const group = slots.get(tag);
      if (group) group.push(i);
      else slots.set(tag, [i]);
    }
    await Promise.all(
      [...slots.values()].map(async (group) => {
        const args: (string | number)[] = group.map((i) => plans[i]!.redisKey);
        for (const i of group) args.push(plans[i]!.op, plans[i]!.ttlMs, plans[i]!.member);
        const values = await (this.redis as ScriptClient).sgRateBump(group.length, ...args);
        group.forEach((i, j) => (out[i] = Number(values[j])));
      }),
    );
    return out;
  }
}
