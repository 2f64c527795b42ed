/**
 * Rate counters' own Redis calls: bump every counter a message touches and read the values after
 * the bump, in one script call (rates.lua) per event-loop turn on a single Redis, per hash slot on
 * a cluster. Used where the hot path's batch cannot carry a message's counters (Redis Cluster,
 * names with TAB or newline, a key listed twice) and by tools; the batch itself is
 * PolicyCheck.fetchThen() (policy-check.ts), which takes the counters' lines or commands from the
 * layout this class extends (rate-layout.ts: windows, keys, expiry), and calls fieldsMade() for
 * the plain-command path's purge bookkeeping.
 */
import type { Redis } from 'ioredis';
import type { RateNeed } from '../domain/store-facts.js';
import { RateLayout, redisKeyOf, type PlannedCounter, type RateLayoutOptions } from './rate-layout.js';
import { withScripts, type ScriptClient } from './scripts.js';

/**
 * The script groups of one message's planned counters, in order: consecutive count counters of one
 * entity form one group (one hash; `last` is the one whose window ends latest), every distinct
 * counter its own. Calls `fn(first, end, last)` with indexes into `plans` (end exclusive).
 */
function forEachGroup(plans: readonly PlannedCounter[], fn: (first: number, end: number, last: PlannedCounter) => void): void {
  for (let i = 0; i < plans.length; ) {
    const p = plans[i]!;
    let j = i + 1;
    let last = p;
    if (p.op === 'c') {
      for (; j < plans.length && plans[j]!.op === 'c' && plans[j]!.entity === p.entity; j++) if (plans[j]!.endMs > last.endMs) last = plans[j]!;
    }
    fn(i, j, last);
    i = j;
  }
}

/** A count counter's field in its entity's hash: the counter, then "@" and its window's end. */
const countField = (c: PlannedCounter): string => `${c.field}@${c.end}`;

interface PendingBump {
  plans: readonly PlannedCounter[];
  resolve(values: number[]): void;
  reject(err: unknown): void;
}

/** Most counters one batched script call carries. */
const MAX_BATCH_KEYS = 2048;
/**
 * Most strings one call of runGroups() carries (a group carries up to 1,024 recipients:
 * intel-tally.ts): what bounds how long one call holds Redis, about a millisecond.
 */
const MAX_GROUP_STRINGS = 2048;

/**
 * One group as rate-counters.lua reads it (op, end, entity, then its strings, the first the key
 * suffix after "{entity}"): what intel-tally.ts's flush sends, one value back per group.
 */
export interface RawGroup {
  readonly op: string;
  readonly end: string;
  readonly entity: string;
  readonly strings: readonly string[];
}

/** Count hashes per purge call (RateStore.fieldsMade()). */
const PURGE_KEYS = 128;

export class RateStore extends RateLayout {
  private readonly scripts: ScriptClient;
  private pending: PendingBump[] = [];
  private flushScheduled = false;

  constructor(
    readonly redis: Redis,
    prefix: string,
    opts: RateLayoutOptions = {},
  ) {
    super(prefix, opts);
    this.scripts = withScripts(redis);
  }

  /**
   * Fields made in existing count hashes by the plain-command path (`counts[i]` in `keys[i]`, whose
   * TTL goes out to `ends[i]` plus slack, epoch ms, RateLayout.pushOutTo(); 0: stays): what the Lua
   * path does inside its script after a bump — the TTL pushed out (never in), the purge bookkeeping
   * — in one call for a batch (rate-purge.lua).
   */
  fieldsMade(keys: readonly string[], counts: readonly number[], ends: readonly number[]): Promise<number> {
    // At a window boundary every active hash gets a field at once: one call for all of them held
    // Redis for 12–37 ms (slowlog, scenario (d)), delaying every policy check behind it. Calls of at
    // most PURGE_KEYS hashes let other clients' commands run in between.
    const horizon = this.horizon();
    const calls: Promise<number>[] = [];
    for (let a = 0; a < keys.length; a += PURGE_KEYS) {
      const k = keys.slice(a, a + PURGE_KEYS);
      calls.push(this.scripts.sgRatePurge(k.length, ...k, horizon, ...counts.slice(a, a + PURGE_KEYS), ...ends.slice(a, a + PURGE_KEYS)));
    }
    return Promise.all(calls).then((n) => n.reduce((x, y) => x + y, 0));
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

  /** One rates.lua call for the counters of several messages (their values come back in order). */
  private call(groups: readonly (readonly PlannedCounter[])[]): Promise<number[]> {
    const keys = new Set<string>();
    const args: (string | number)[] = [];
    for (const plans of groups) {
      for (const p of plans) keys.add(redisKeyOf(this.prefix, p));
      forEachGroup(plans, (first, end, last) => {
        const p = plans[first]!;
        if (p.op !== 'c') args.push(p.op, p.end, 2, p.entity, p.field, p.member);
        else {
          args.push('c', last.end, end - first, p.entity);
          for (let i = first; i < end; i++) args.push(countField(plans[i]!));
        }
      });
    }
    // Arrays, not spread: ioredis flattens them (a batch carries thousands of values).
    return this.scripts.sgRateBump(keys.size, [...keys], this.prefix, this.horizon(), args);
  }

  private runBatch(batch: PendingBump[]): void {
    this.call(batch.map((b) => b.plans)).then(
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

  /**
   * Runs raw groups and returns one value per group, in order: on one Redis a rates.lua call per
   * batch of groups (up to MAX_GROUP_STRINGS strings), each sent once the one before it answered;
   * on a cluster one per entity (hash slot) and batch, concurrently, its key declared.
   *
   * One after another on one Redis: sent together, a flush's calls (a bulk sender's second, ~30,000
   * recipients in (d)) queued in Redis back to back and held every policy check behind them for
   * 20–40 ms once a second, and ioredis built them all in one event-loop turn (3–7 ms): bench (d)'s
   * worst moments at a fixed 20,000 msg/s (bench/RESULTS.md, session 21). Sent singly,
   * the hot path's commands run between them, and each is built in the turn its predecessor's
   * answer came in.
   */
  async runGroups(groups: readonly RawGroup[]): Promise<number[]> {
    if (groups.length === 0) return [];
    const cluster = (this.redis as { isCluster?: boolean }).isCluster === true;
    const calls: RawGroup[][] = [];
    let cur: RawGroup[] = [];
    let strings = 0;
    let entity = '';
    for (const g of groups) {
      // A call a slot on a cluster; on both, no call beyond MAX_GROUP_STRINGS where groups allow.
      const split = cur.length > 0 && ((cluster && g.entity !== entity) || strings + g.strings.length > MAX_GROUP_STRINGS);
      if (split) {
        calls.push(cur);
        cur = [];
        strings = 0;
      }
      cur.push(g);
      strings += g.strings.length + 4;
      entity = g.entity;
    }
    calls.push(cur);
    const horizon = this.horizon();
    const run = (c: readonly RawGroup[]) => {
      const keys = new Set<string>();
      const args: string[] = [];
      for (const g of c) {
        keys.add(`${this.prefix}{${g.entity}}${g.strings[0] ?? ''}`);
        args.push(g.op, g.end, String(g.strings.length), g.entity);
        for (const x of g.strings) args.push(x);
      }
      return this.scripts.sgRateBump(keys.size, [...keys], this.prefix, horizon, args);
    };
    let answers: number[][];
    if (cluster) answers = await Promise.all(calls.map(run));
    else {
      answers = [];
      for (const c of calls) answers.push(await run(c));
    }
    const out: number[] = [];
    for (const a of answers) for (const v of a) out.push(Number(v));
    return out;
  }

/** Redis Cluster: one script call per entity (hash slot), concurrently. */
  private async bumpBySlot(plans: readonly PlannedCounter[]): Promise<number[]> {
    const out = new Array<number>(plans.length);
    const slots = new Map<string, number[]>();
    for (let i = 0; i < plans.length; i++) {
      const group = slots.get(plans[i]!.entity);
      if (group) group.push(i);
      else slots.set(plans[i]!.entity, [i]);
    }
    await Promise.all(
      [...slots.values()].map(async (group) => {
        const values = await this.call([group.map((i) => plans[i]!)]);
        group.forEach((i, j) => (out[i] = Number(values[j])));
      }),
    );
    return out;
  }
}
