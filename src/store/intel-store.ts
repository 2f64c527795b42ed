/**
 * Traffic intelligence in Redis (issue 18), and this instance's in-process copy of what the rules
 * read on the hot path:
 *
 *   marks       what feedback said about a campaign fingerprint (its exact id and its LSH bands):
 *               complained / rejected / allowed, how often, until when, from where
 *                 <prefix>{intel}:marks      HASH  key → "verdict TAB expires TAB source"
 *                 <prefix>{intel}:marks:n    HASH  key → count
 *                 <prefix>{intel}:marks:exp  ZSET  key → expires (pruning; at most maxMarks)
 *   reputation  callback numbers and link domains (号码库): imported feeds and entries learned from
 *               complaints and reviewer rejects
 *                 <prefix>{intel}:rep:<kind>:<name>  ZSET  entry → expires (+inf: a feed's entry)
 *                 <prefix>{intel}:rep:names          SET   "<kind>:<name>" (at most MAX_SETS)
 *   memory      the texts of forwarded commercial messages, for feedback: once per campaign
 *               fingerprint an hour (at most maxTexts an hour per instance), in hour buckets that
 *               expire whole. Which message had which fingerprint is in the decision record
 *               (store/audit-stream.ts: msg_id, smsc_id, fingerprint), not here: per message,
 *               Redis keeps nothing (decision/feedback.ts joins the two).
 *                 <prefix>{txt}:<hour>  HASH  fingerprint → "band,band,… TAB text"  (TTL retention + 1 h)
 *
 * Every key expires or is bounded: marks and learned entries expire and are capped, feeds are
 * capped at import. Changes are published on <prefix>intel ("m" a mark, "r <kind> <name>" a set);
 * every instance applies them to its IntelIndex (domain/intel.ts) — the view the rules ask, so a
 * decision never waits for Redis for them — and reloads everything when its subscription
 * (re)connects. Big sets are loaded in slices (the event loop is never held for long).
 */
import type { Redis } from 'ioredis';
import { IntelIndex, type IntelMark, type MarkVerdict, type ReputationKind } from '../domain/intel.js';
import { duplicateClient } from './redis.js';

const HOUR = 3_600_000;
/** Reputation sets one gateway knows at most. */
export const MAX_SETS = 256;
/** Entries applied to the index per slice while loading a set. */
const SLICE = 5000;

export interface IntelOptions {
  /** Marks kept at most (the soonest to expire are dropped beyond). */
  maxMarks?: number;
  /** Entries per reputation set at most (an import beyond is refused; learned entries beyond are dropped). */
  maxEntries?: number;
  /** How long the memory's texts are kept, in seconds (0: off). */
  memoryTtlS?: number;
  /** Texts (distinct fingerprints) this instance keeps an hour at most; beyond, the hour's others are not kept. */
  maxTexts?: number;
  now?: () => number;
}

/** What the memory kept of a forwarded message's text. */
export interface RememberedText {
  fingerprint: string;
  bands: string[];
  /** The folded text (width, case, traditional → simplified): numbers and links are read from it. */
  text: string;
}

export class IntelStore {
  readonly index: IntelIndex;
  readonly maxMarks: number;
  readonly maxEntries: number;
  readonly memoryTtlS: number;
  readonly maxTexts: number;
  private readonly now: () => number;
  private sub: Redis | null = null;
  private pending: string[] = [];
  private pendingHour = 0;
  private flushScheduled = false;
  /** The fingerprints whose text this instance kept in the hour `keptHour` (the bucket's fields). */
  private kept = new Set<string>();
  private keptHour = -1;
  /** Texts not kept because the hour's maxTexts were reached (a metric reads it). */
  textsSkipped = 0;
  /** Loaded once from Redis (until then the index is empty: campaign/content keys do not hold). */
  loaded = false;
  /** Called after a change was applied from pub/sub (tests, metrics). */
  onApplied: ((what: string) => void) | null = null;

  constructor(
    readonly redis: Redis,
    readonly prefix: string,
    opts: IntelOptions = {},
  ) {
    this.maxMarks = opts.maxMarks ?? 100_000;
    this.maxEntries = opts.maxEntries ?? 1_000_000;
    this.memoryTtlS = opts.memoryTtlS ?? 0;
    this.maxTexts = opts.maxTexts ?? 50_000;
    this.now = opts.now ?? Date.now;
    this.index = new IntelIndex(Math.max(this.maxMarks, this.maxEntries));
  }

  private k(s: string): string {
    return `${this.prefix}{intel}:${s}`;
  }

  get channel(): string {
    return `${this.prefix}intel`;
  }

  private repKey(kind: ReputationKind, name: string): string {
    return this.k(`rep:${kind}:${name}`);
  }

  // ---- marks ---------------------------------------------------------------------------------------

  /**
   * Marks fingerprint keys (an id and its bands) with a verdict until `expires`, counting one more
   * complaint/review on each; published to every instance. Returns the marks as stored.
   */
  async mark(keys: readonly string[], verdict: MarkVerdict, expires: number, source: string): Promise<IntelMark[]> {
    if (keys.length === 0) return [];
    const now = this.now();
    const clean = source.replace(/[\t\n]/g, ' ').slice(0, 200);
    const m = this.redis.multi();
    for (const key of keys) {
      m.hset(this.k('marks'), key, `${verdict}\t${expires}\t${clean}`);
      m.hincrby(this.k('marks:n'), key, 1);
      m.zadd(this.k('marks:exp'), expires, key);
    }
    const ttl = Math.max(1, expires - now + 60_000);
    for (const key of ['marks', 'marks:n', 'marks:exp']) m.pexpire(this.k(key), ttl, 'GT').pexpire(this.k(key), ttl, 'NX');
    const res = await m.exec();
    const marks: IntelMark[] = keys.map((key, i) => ({ key, verdict, count: Number(res?.[i * 3 + 1]?.[1] ?? 1), expires, source: clean }));
    await this.pruneMarks(now);
    for (const mk of marks) this.index.putMark(mk);
    await this.redis.publish(this.channel, `m\t${JSON.stringify(marks)}`);
    return marks;
  }

  /** Drops expired marks and, beyond maxMarks, the soonest to expire. */
  private async pruneMarks(now: number): Promise<void> {
    const dead = await this.redis.zrangebyscore(this.k('marks:exp'), '-inf', now, 'LIMIT', 0, 1000);
    const over = (await this.redis.zcard(this.k('marks:exp'))) - dead.length - this.maxMarks;
    if (over > 0) {
      const popped = await this.redis.zpopmin(this.k('marks:exp'), over);
      for (let i = 0; i < popped.length; i += 2) dead.push(popped[i]!);
    }
    if (dead.length === 0) return;
    await this.redis.multi().hdel(this.k('marks'), ...dead).hdel(this.k('marks:n'), ...dead).zrem(this.k('marks:exp'), ...dead).exec();
  }

  /** Every live mark in Redis. */
  async allMarks(): Promise<IntelMark[]> {
    const [raw, counts] = await Promise.all([this.redis.hgetall(this.k('marks')), this.redis.hgetall(this.k('marks:n'))]);
    const now = this.now();
    const out: IntelMark[] = [];
    for (const [key, v] of Object.entries(raw)) {
      const [verdict, expires, source] = v.split('\t') as [MarkVerdict, string, string];
      const exp = Number(expires);
      if (exp > now) out.push({ key, verdict, count: Number(counts[key] ?? 1), expires: exp, source: source ?? '' });
    }
    return out;
  }

  // ---- reputation sets ---------------------------------------------------------------------------

  /**
   * Replaces (or, `add`, extends) a reputation set with `entries` (already normalised), valid until
   * `expires` (Infinity: until replaced). Refuses more than maxEntries in the set. Published to every
   * instance. Returns the set's size after.
   */
  async importSet(kind: ReputationKind, name: string, entries: readonly string[], opts: { add?: boolean; expires?: number } = {}): Promise<number> {
    const key = this.repKey(kind, name);
    const names = await this.redis.smembers(this.k('rep:names'));
    if (!names.includes(`${kind}:${name}`) && names.length >= MAX_SETS) throw new RangeError(`at most ${MAX_SETS} reputation sets`);
    const before = opts.add ? await this.redis.zcard(key) : 0;
    if (before + entries.length > this.maxEntries) {
      throw new RangeError(`reputation set ${kind}:${name} would hold ${before + entries.length} entries, more than intel.max_reputation_entries (${this.maxEntries})`);
    }
    const score = opts.expires === undefined || opts.expires === Infinity ? '+inf' : String(opts.expires);
    const tmp = opts.add ? key : `${key}:loading`;
    if (!opts.add) await this.redis.del(tmp);
    for (let i = 0; i < entries.length; i += 10_000) {
      const args: string[] = [];
      for (const e of entries.slice(i, i + 10_000)) args.push(score, e);
      if (args.length > 0) await this.redis.zadd(tmp, ...args);
    }
    const m = this.redis.multi();
    if (!opts.add) {
      if (entries.length > 0) m.rename(tmp, key);
      else m.del(key);
    }
    m.sadd(this.k('rep:names'), `${kind}:${name}`);
    await m.exec();
    await this.redis.publish(this.channel, `r\t${kind}\t${name}`);
    return this.redis.zcard(key);
  }

  /**
   * Adds learned entries (from a confirmed complaint or a reviewer reject) to a set until `expires`;
   * expired ones are pruned and, at maxEntries, new ones are dropped. Published to every instance.
   */
  async learn(kind: ReputationKind, name: string, entries: readonly string[], expires: number): Promise<number> {
    if (entries.length === 0) return 0;
    const key = this.repKey(kind, name);
    const now = this.now();
    await this.redis.zremrangebyscore(key, '-inf', now);
    const room = this.maxEntries - (await this.redis.zcard(key));
    const take = entries.slice(0, Math.max(0, room));
    if (take.length === 0) return 0;
    const args: string[] = [];
    for (const e of take) args.push(String(expires), e);
    // GT: a learned entry never shortens a feed's (+inf) or a later expiry.
    await this.redis.multi().zadd(key, 'GT', ...args).zadd(key, 'NX', ...args).sadd(this.k('rep:names'), `${kind}:${name}`).exec();
    for (const e of take) this.index.addEntry(kind, name, e, expires);
    await this.redis.publish(this.channel, `r\t${kind}\t${name}`);
    return take.length;
  }

  /** The names of the sets ("number:fraud-numbers", …) and their sizes. */
  async sets(): Promise<{ kind: ReputationKind; name: string; size: number }[]> {
    const names = await this.redis.smembers(this.k('rep:names'));
    const out: { kind: ReputationKind; name: string; size: number }[] = [];
    for (const n of names.sort()) {
      const [kind, name] = n.split(':', 2) as [ReputationKind, string];
      out.push({ kind, name, size: await this.redis.zcard(this.repKey(kind, name)) });
    }
    return out;
  }

  /** Loads one set into the index, in slices. */
  private async loadSet(kind: ReputationKind, name: string): Promise<void> {
    const raw = await this.redis.zrangebyscore(this.repKey(kind, name), this.now(), '+inf', 'WITHSCORES');
    const entries: [string, number][] = [];
    for (let i = 0; i < raw.length; i += 2) {
      entries.push([raw[i]!, raw[i + 1] === 'inf' ? Infinity : Number(raw[i + 1])]);
      if (entries.length % SLICE === 0) await new Promise<void>((r) => setImmediate(r));
    }
    this.index.replaceSet(kind, name, entries);
  }

  // ---- the memory's texts ----------------------------------------------------------------------

  private textKey(hour: number): string {
    return `${this.prefix}{txt}:${hour}`;
  }

  /**
   * Keeps a forwarded message's folded text under its fingerprint, once an hour per instance (bulk
   * traffic repeats one campaign to many numbers: one entry, not one per message); buffered, one
   * HSET per event-loop turn. No-op when the memory is off.
   */
  rememberText(fingerprint: string, bands: readonly string[], folded: string): void {
    if (this.memoryTtlS <= 0) return;
    const hour = Math.floor(this.now() / HOUR);
    if (hour !== this.keptHour) {
      this.keptHour = hour;
      this.kept = new Set();
    }
    if (this.kept.has(fingerprint)) return;
    if (this.kept.size >= this.maxTexts) {
      this.textsSkipped++;
      return;
    }
    this.kept.add(fingerprint);
    if (this.pending.length > 0 && hour !== this.pendingHour) void this.flush();
    this.pendingHour = hour;
    this.pending.push(fingerprint, `${bands.join(',')}\t${folded.slice(0, 2000)}`);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => void this.flush());
    }
  }

  async flush(): Promise<void> {
    this.flushScheduled = false;
    if (this.pending.length === 0) return;
    const fields = this.pending;
    this.pending = [];
    const key = this.textKey(this.pendingHour);
    try {
      await this.redis.multi().hset(key, ...fields).expire(key, this.memoryTtlS + 3600).exec();
    } catch {
      // Best effort: a lost text only means a complaint about that campaign marks its fingerprint alone.
      for (let i = 0; i < fields.length; i += 2) this.kept.delete(fields[i]!);
    }
  }

  /** The newest text kept under a fingerprint within the retention; null when none (expired, never kept, memory off). */
  async textOf(fingerprint: string): Promise<RememberedText | null> {
    if (this.memoryTtlS <= 0) return null;
    const hour = Math.floor(this.now() / HOUR);
    const buckets = Math.ceil((this.memoryTtlS * 1000) / HOUR) + 1;
    const p = this.redis.pipeline();
    for (let b = 0; b < buckets; b++) p.hget(this.textKey(hour - b), fingerprint);
    for (const [err, v] of (await p.exec()) ?? []) {
      if (err) throw err;
      if (typeof v === 'string') {
        const tab = v.indexOf('\t');
        const bands = v.slice(0, tab);
        return { fingerprint, bands: bands ? bands.split(',') : [], text: v.slice(tab + 1) };
      }
    }
    return null;
  }

  // ---- this instance's copy ----------------------------------------------------------------------

  /** Subscribes and loads; resolves after the first load attempt (the subscription keeps retrying). */
  async start(): Promise<void> {
    const sub = duplicateClient(this.redis, { enableOfflineQueue: true, commandTimeout: undefined });
    this.sub = sub;
    sub.on('error', () => undefined);
    sub.on('message', (_channel: string, msg: string) => void this.onEvent(msg));
    sub.on('ready', () => void sub.subscribe(this.channel).then(() => this.reload(), () => undefined));
    if (sub.status === 'wait') await sub.connect().catch(() => undefined);
    await this.reload();
  }

  /** Everything again: marks and every set. */
  async reload(): Promise<void> {
    try {
      const marks = await this.allMarks();
      this.index.clearMarks();
      for (const m of marks) this.index.putMark(m);
      for (const n of await this.redis.smembers(this.k('rep:names'))) {
        const [kind, name] = n.split(':', 2) as [ReputationKind, string];
        await this.loadSet(kind, name);
      }
      this.loaded = true;
    } catch {
      setTimeout(() => void this.reload(), 1000).unref();
    }
  }

  private async onEvent(msg: string): Promise<void> {
    const f = msg.split('\t');
    try {
      if (f[0] === 'm') {
        for (const m of JSON.parse(f.slice(1).join('\t')) as IntelMark[]) this.index.putMark(m);
        this.onApplied?.('mark');
      } else if (f[0] === 'r' && f[1] && f[2]) {
        await this.loadSet(f[1] as ReputationKind, f[2]);
        this.onApplied?.(`set ${f[1]}:${f[2]}`);
      }
    } catch {
      void this.reload();
    }
  }

  async stop(): Promise<void> {
    await this.flush();
    this.sub?.disconnect();
    this.sub = null;
  }
}
