/**
 * The traffic-intelligence counters' write-behind tally (issue 18): the counters that are
 * statistics about a campaign or a sender rather than caps — campaign senders and accounts
 * (RateNeed kind `recent`), and a sender's distinct recipients, sequential run, hourly volume
 * against its baseline and receipts (`distinct` marked `statistic`, `sequence`, `baseline`,
 * `receipts`) — counted in this process and shared with every other instance through Redis once a
 * second, instead of a Redis script group (or, for distinct recipients, PFADD and PFCOUNT) per
 * counter per message.
 *
 * Why: per message, cn-miit's intelligence rules were ~16 such groups in the hot path's batched
 * script (6 LSH bands × 2 campaign limits, 4 behaviour signals); Redis spent ~80 µs a message
 * reading and dispatching them, and the pack ran at 0.3× its speed without them (bench/RESULTS.md).
 * A campaign or a bulk sender sends many messages a second: counted here, they cost Redis one
 * group per counter per flush, whatever the rate.
 *
 * How a counter is answered:
 *   cold   the first message of a counter (or of a new window/hour, or when the tally is full)
 *          goes through the message's round trip as before (exact, and counted in Redis); its
 *          answer seeds the shared value here.
 *   warm   later messages are counted here and answered at once:
 *            recent    a member (sender number, account) this instance saw within the window: the
 *                      count does not change, the last answer stands (its time goes with the
 *                      flush); a member new here goes the cold way, so Redis holds every member
 *                      at once and its count is exact over every instance
 *            distinct  shared count + the members new here since (this instance remembers up to
 *                      MAX_SEEN members a window, so a repeat is not counted again; one another
 *                      instance also sent in the same interval reads one too many until the flush)
 *            sequence  max(shared longest run, this instance's own tracks' longest run)
 *            baseline  shared count + this instance's messages since, with the shared baseline
 *            receipts  the shared value (read only; the receipt feed writes it)
 *   flush  every `flushMs`, what each dirty counter saw goes to Redis in batched script groups
 *          (rate-counters.lua Z and D, behaviour.lua Q/B, u) and the answers become the shared values.
 * So another instance's messages reach a counter here within about one flush interval (plus the
 * flush's round trip); this instance's own are counted at once. Rate caps (frequency limits,
 * quotas) are not tallied: they stay exact in the round trip.
 *
 * Bounded: at most `maxKeys` counters (least recently used first out, never one with unflushed
 * counts: a full tally sends new counters the cold way) and `maxMembers` campaign members and
 * remembered recipients in all; a sequence's and a distinct counter's pending recipients are capped
 * per flush. A failed flush keeps its counts for the next one.
 */
import type { RateNeed } from '../domain/store-facts.js';
import { RECENT_CAP } from '../domain/store-facts.js';
import { hiOf, loOf, pack } from '../domain/behaviour.js';
import type { RateStore, RawGroup } from './rates.js';

export interface IntelTallyOptions {
  /** How often what this instance counted is shared (ms). Default 1000. */
  flushMs?: number;
  /** Counters kept at most. Default 100,000. */
  maxKeys?: number;
  /** Campaign members (senders, accounts) kept over every counter at most. Default 200,000. */
  maxMembers?: number;
  /** The clock the counters run on (the rate layout's). */
  now: () => number;
  /** A flush failed (Redis down or slow): its counts stay for the next one. */
  onError?: (err: unknown) => void;
  /** One flush done: groups sent, ms taken. */
  onFlush?: (groups: number, ms: number) => void;
}

/** Recipients of one sequence counter sent in one flush at most (beyond: counted here, not shared). */
const MAX_PENDING_RECIPIENTS = 10_000;
/**
 * Recipients of one distinct counter sent in one flush at most: a bulk sender's second (beyond:
 * neither counted nor shared, so the count reads low for a sender over this many new recipients a
 * second per instance).
 */
const MAX_PENDING_DISTINCT = 50_000;
/** Recipients a distinct counter remembers per window, to count a repeat once (beyond: new ones are counted at the flush). */
const MAX_SEEN = 10_000;
/**
 * Recipients one group carries at most: a bulk sender's second of them goes in several groups, so no
 * one script call holds Redis for long (a PFADD of 4,096 members ~2 ms; 50,000 in one call held it
 * for tens of milliseconds, and every policy check waited behind it). RateStore.runGroups() sends
 * the calls one at a time.
 */
const GROUP_RECIPIENTS = 1024;
/** Counters whose groups one flush slice builds before it yields to the event loop. */
const SLICE = 500;
/** A cold message's answer not back after this long (lost, failed): the next message goes cold again. */
const SEED_RETRY_MS = 2000;
const HOUR = 3_600_000;

type TallyKind = 'recent' | 'distinct' | 'sequence' | 'baseline' | 'receipts';

/** Whether a need is one the tally counts (a distinct counter only as a statistic: a rate cap stays exact). */
export function tallied(need: RateNeed): boolean {
  const k = need.kind;
  return k === 'recent' || k === 'sequence' || k === 'baseline' || k === 'receipts' || (k === 'distinct' && need.statistic === true);
}

/** One counter's state. */
class Entry {
  seeded = false;
  /** When this counter's cold message left (0: none out): the next ones count here meanwhile. */
  seedingAt = 0;
  /** When it last moved to the recent end of the tally's order. */
  usedAt = 0;
  /** The last value Redis gave (packed for baseline and receipts). */
  shared = 0;
  dirty = false;
  /** Fixed window (distinct, sequence) or hour (baseline) the state is for. */
  window = -1;
  // recent: every member seen in the window → when last seen (recency order), and those not yet sent.
  members: Map<string, number> | null = null;
  pending: Map<string, number> | null = null;
  /** When `members` was last trimmed to the window, and its newest member. */
  trimmed = 0;
  last = '';
  // sequence: two tracks (A the longer), the longest run; sequence and distinct: recipients not yet sent.
  a: Track | null = null;
  b: Track | null = null;
  mx = 0;
  /** The sequence's gap (from its field ":q:<gap>:<seconds>"). */
  gap = 0;
  recipients: Pending | null = null;
  // distinct: the recipients this instance saw in the window (up to MAX_SEEN).
  seen: Set<string> | null = null;
  // baseline: messages counted here not yet sent, and those in a flush on the way; distinct: the same of new recipients.
  count = 0;
  sending = 0;

  constructor(
    /** RateNeed.key: where the tally keeps it. */
    readonly key: string,
    readonly kind: TallyKind,
    readonly entity: string,
    /** The key suffix after "{entity}" (for a sequence, of its current window). */
    public suffix: string,
    readonly periodMs: number,
    /** behaviour.lua's baseline parameters (baseline only). */
    readonly params: string,
  ) {
    if (kind === 'recent') {
      this.members = new Map();
      this.pending = new Map();
    } else if (kind === 'sequence') {
      this.gap = gapOf(suffix);
      this.recipients = new Pending();
      this.a = { hi: 0, m: 0, l: 0 };
      this.b = { hi: 0, m: 0, l: 0 };
    } else if (kind === 'distinct') {
      this.recipients = new Pending();
      this.seen = new Set();
    }
  }
}

/**
 * Recipients waiting for a flush: those written in digits (what a normalised number is) as numbers,
 * in an array of doubles — no object per recipient for the garbage collector to copy while they wait,
 * up to a second at tens of thousands a second — and any other as its string. Sent as strings, the
 * numbers first: the order does not matter to PFADD, and a sequence keeps only numbers (as the
 * number each reads; behaviour.lua reads them as numbers too), so its order is kept.
 */
class Pending {
  private nums: number[] = [];
  private strs: string[] = [];

  get size(): number {
    return this.nums.length + this.strs.length;
  }

  /** `value`: the number the recipient stands for (a safe integer, ≥ 0; digitsValue()), or −1 to keep the string. */
  add(recipient: string, value: number): void {
    if (value >= 0) this.nums.push(value);
    else this.strs.push(recipient);
  }

  /** The groups' strings, each `suffix` then up to GROUP_RECIPIENTS recipients, in order; none when empty. */
  groups(suffix: string): string[][] {
    const out: string[][] = [];
    let cur: string[] = [];
    const put = (r: string) => {
      if (cur.length === 0) out.push((cur = [suffix]));
      cur.push(r);
      if (cur.length > GROUP_RECIPIENTS) cur = [];
    };
    for (const n of this.nums) put(String(n));
    for (const r of this.strs) put(r);
    return out;
  }

  /** A failed flush's recipients back in front of those since, up to `max` in all. */
  static back(sent: readonly string[], since: Pending, max: number): Pending {
    const p = new Pending();
    for (const r of sent) if (p.size < max) p.add(r, digitsValue(r));
    for (const n of since.nums) if (p.size < max) p.nums.push(n);
    for (const r of since.strs) if (p.size < max) p.strs.push(r);
    return p;
  }
}

/**
 * A recipient written in 1–15 digits without a leading zero as the number it reads (exactly, and
 * String() of it gives the recipient back); −1 for anything else.
 */
function digitsValue(s: string): number {
  const n = s.length;
  if (n === 0 || n > 15 || s.charCodeAt(0) === 48) return -1;
  let v = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

/** A run of near-consecutive recipients: the highest number, a mask of the 31 below it seen, the length. */
interface Track {
  hi: number;
  m: number;
  l: number;
}

/**
 * One track of the sequence (behaviour.lua's sg_track, the same arithmetic): recipient `r` against
 * (hi, mask, len); returns 0 far, 1 counted, 2 repeat, leaving the new track in `t`.
 */
function track(t: Track, r: number, gap: number): number {
  if (t.l === 0) return 0;
  const d = r - t.hi;
  if (d === 0) return 2;
  if (d > 0 && d <= gap) {
    t.m = d >= 32 ? 1 : (t.m << d) | 1;
    t.hi = r;
    t.l++;
    return 1;
  }
  if (d < 0 && d > -32) {
    const b = 1 << -d;
    if ((t.m & b) !== 0) return 2;
    t.m |= b;
    t.l++;
    return 1;
  }
  return 0;
}

/** A recipient into a sequence entry's own tracks (behaviour.lua's sg_sequence, one step). */
function step(e: Entry, r: number, gap: number): void {
  const a = e.a!;
  const b = e.b!;
  if (track(a, r, gap) === 0 && track(b, r, gap) === 0) {
    // Neither extends: A starts when empty, else B starts afresh.
    const t = a.l === 0 ? a : b;
    t.hi = r;
    t.m = 1;
    t.l = 1;
  }
  if (b.l > a.l) {
    e.a = b;
    e.b = a;
  }
  if (e.a!.l > e.mx) e.mx = e.a!.l;
}

/** A group on its way to Redis and where its answer goes. */
interface Sent {
  entry: Entry | null;
  group: RawGroup;
  /** What the group carried beyond its strings: members (recent) or a count (baseline, distinct). */
  members?: Map<string, number>;
  count?: number;
}

export class IntelTally {
  private readonly entries = new Map<string, Entry>();
  private readonly dirty = new Set<Entry>();
  /** Groups of windows that ended with counts not sent yet (sent with the next flush). */
  private retired: RawGroup[] = [];
  private memberCount = 0;
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  private readonly flushMs: number;
  private readonly maxKeys: number;
  private readonly maxMembers: number;
  /** Counters answered here / sent the cold way (the message's round trip): metrics and tests. */
  warm = 0;
  cold = 0;

  constructor(
    private readonly rates: Pick<RateStore, 'runGroups' | 'baselineParams'>,
    private readonly opts: IntelTallyOptions,
  ) {
    this.flushMs = opts.flushMs ?? 1000;
    this.maxKeys = opts.maxKeys ?? 100_000;
    this.maxMembers = opts.maxMembers ?? 200_000;
  }

  start(): void {
    if (this.timer !== null) return;
    this.timer = setInterval(() => void this.flush(), this.flushMs);
    this.timer.unref();
  }

  /** Stops the timer and sends what is left (a drain). */
  async stop(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.flush();
    // A flush already running when stop() came took only what was dirty when it started.
    if (this.dirty.size > 0 || this.retired.length > 0) await this.flush();
  }

  /** Counters kept, and campaign members over them. */
  get size(): { keys: number; members: number } {
    return { keys: this.entries.size, members: this.memberCount };
  }

  /**
   * Counts one message for each tallied need it can answer here: `values[i]` gets need i's value,
   * NaN where the need must go through the round trip (not tallied, or cold). Returns how many
   * were answered here.
   */
  answer(needs: readonly RateNeed[], values: number[]): number {
    const now = this.opts.now();
    let n = 0;
    for (let i = 0; i < needs.length; i++) {
      const need = needs[i]!;
      const v = tallied(need) ? this.observe(need, now) : -1;
      values[i] = v < 0 ? NaN : v;
      if (v >= 0) n++;
    }
    return n;
  }

  /** A cold need's value as the round trip answered it (counted in Redis): the shared value from now on. */
  seed(need: RateNeed, value: number): void {
    const e = this.entries.get(need.key);
    if (e === undefined || !Number.isFinite(value)) return;
    const now = this.opts.now();
    if (e.kind !== 'recent' && e.kind !== 'receipts') {
      if (this.windowOf(e, now) !== e.window) return;
    }
    if (!e.seeded) {
      e.seeded = true;
      e.shared = value;
      return;
    }
    // Answers of cold messages in flight together: the latest count wins (every one is in Redis).
    if (e.kind === 'baseline') {
      if (hiOf(value) > hiOf(e.shared)) e.shared = value;
    } else if (e.kind !== 'receipts' && value > e.shared) e.shared = value;
  }

  private windowOf(e: Entry, now: number): number {
    return Math.floor(now / (e.kind === 'baseline' ? HOUR : e.periodMs));
  }

  /** One need of one message: its value counted here, or −1 (cold: the round trip answers). */
  private observe(need: RateNeed, now: number): number {
    let e: Entry | null | undefined = this.entries.get(need.key);
    if (e === undefined) {
      e = this.create(need);
      if (e === null) {
        this.cold++;
        return -1;
      }
    } else if (now - e.usedAt >= 1000) {
      // Most recently used last (to the second: a hot counter is not moved per message): the eviction takes the first.
      this.entries.delete(need.key);
      this.entries.set(need.key, e);
      e.usedAt = now;
    }
    if (e.kind !== 'recent' && e.kind !== 'receipts') {
      const w = this.windowOf(e, now);
      if (w !== e.window) this.roll(e, w, need);
    }
    // One cold message a counter: while its answer is out (a round trip, retried after
    // SEED_RETRY_MS), the others count here against what is known (a burst of a new counter's
    // messages in one turn would otherwise all go the cold way, together).
    const live = e.seeded || (e.seedingAt !== 0 && now - e.seedingAt < SEED_RETRY_MS);
    if (!live) e.seedingAt = now;
    let v: number;
    switch (e.kind) {
      case 'recent':
        v = this.recent(e, need.member ?? '', now, live);
        break;
      case 'sequence':
        v = this.sequence(e, need.member ?? '', live);
        break;
      case 'distinct':
        v = this.distinct(e, need.member ?? '', live);
        break;
      case 'baseline': {
        if (!live) {
          v = -1;
          break;
        }
        e.count++;
        v = pack(hiOf(e.shared) + e.sending + e.count, loOf(e.shared));
        break;
      }
      default:
        v = live ? e.shared : -1;
    }
    if (v < 0) {
      this.cold++;
      return -1;
    }
    this.warm++;
    if (!e.dirty) {
      e.dirty = true;
      this.dirty.add(e);
    }
    return v;
  }

  private create(need: RateNeed): Entry | null {
    if (this.entries.size >= this.maxKeys) {
      const oldest = this.entries.values().next().value!;
      if (oldest.dirty) return null;
      this.drop(oldest);
    }
    const entity = need.entity ?? need.key;
    const field = need.field ?? '';
    const kind = need.kind as TallyKind;
    const suffix = kind === 'recent' ? `${field}:z:${need.periodMs}` : field;
    const e = new Entry(need.key, kind, entity, suffix, need.periodMs, kind === 'baseline' ? this.rates.baselineParams : '');
    this.entries.set(need.key, e);
    return e;
  }

  private drop(e: Entry): void {
    this.entries.delete(e.key);
    if (e.members !== null) this.memberCount -= e.members.size;
    if (e.seen !== null) this.memberCount -= e.seen.size;
  }

  /** A new window (distinct, sequence) or hour (baseline): what the old one counted goes with the next flush; the new one starts cold. */
  private roll(e: Entry, w: number, need: RateNeed): void {
    const oldEnd = String((e.window + 1) * (e.kind === 'baseline' ? HOUR : e.periodMs));
    if (e.kind === 'sequence') {
      for (const strings of e.recipients!.groups(e.suffix)) this.retired.push({ op: 'Q', end: oldEnd, entity: e.entity, strings });
      e.recipients = new Pending();
      e.a = { hi: 0, m: 0, l: 0 };
      e.b = { hi: 0, m: 0, l: 0 };
      e.mx = 0;
      e.suffix = `${need.field ?? ''}:${w}`;
    } else if (e.kind === 'distinct') {
      for (const strings of e.recipients!.groups(e.suffix)) this.retired.push({ op: 'D', end: oldEnd, entity: e.entity, strings });
      e.recipients = new Pending();
      this.memberCount -= e.seen!.size;
      e.seen!.clear();
      e.count = 0;
      e.suffix = `${need.field ?? ''}:d:${w}`;
    } else if (e.count > 0) {
      this.retired.push({ op: 'B', end: oldEnd, entity: e.entity, strings: [e.suffix, e.params, String(e.count)] });
      e.count = 0;
      // Sent now, ahead of the new hour's first message (which rolls the hour in Redis): else the
      // finished hour's last counts would land in the new one, as a lagging instance's do.
      void this.flush();
    }
    e.window = w;
    e.seeded = false;
    e.seedingAt = 0;
    e.shared = 0;
  }

  /**
   * A campaign member: one seen here within the window is counted here (the distinct count does not
   * change; its time is shared with the next flush); a new one goes the cold way, so Redis has every
   * member at once and the count it answers is exact over every instance.
   */
  private recent(e: Entry, member: string, now: number, live: boolean): number {
    const members = e.members!;
    // The usual case, a campaign's messages from one sender in a row: nothing changes. Its time is
    // written by the look below, at most 100 ms on (so a member's last sighting reads up to 100 ms
    // early, and it leaves the window that much early: the trim's own resolution).
    if (live && member === e.last && now - e.trimmed < 100) return Math.max(e.shared, members.size);
    // Oldest first: those seen before the window, and beyond the cap (a look at most every 100 ms:
    // a member drops out here up to that much later than in Redis).
    if (now - e.trimmed >= 100 || members.size > RECENT_CAP) {
      e.trimmed = now;
      const from = now - e.periodMs;
      for (const [m, t] of members) {
        if (t > from && members.size <= RECENT_CAP) break;
        members.delete(m);
        this.memberCount--;
      }
    }
    const known = members.has(member);
    if (known) members.delete(member);
    else if (this.memberCount >= this.maxMembers) return -1;
    else this.memberCount++;
    members.set(member, now);
    e.last = member;
    if (!known || !live) return -1;
    e.pending!.set(member, now);
    return Math.max(e.shared, members.size);
  }

  /** A recipient into this instance's own tracks (cold ones too: Redis counted those), shared with the next flush when warm. */
  private sequence(e: Entry, recipient: string, live: boolean): number {
    const d = digitsValue(recipient);
    const r = d >= 0 ? d : Number(recipient);
    const ok = recipient.length > 0 && Number.isSafeInteger(r);
    if (ok) step(e, r, e.gap);
    if (!live) return -1;
    // As the number it reads (what the Lua reads it as too): the run's order is kept.
    if (ok && e.recipients!.size < MAX_PENDING_RECIPIENTS) e.recipients!.add(recipient, r);
    return Math.max(e.shared, e.mx);
  }

  /**
   * A recipient of a distinct counter: one remembered here is not counted again; a new one counts
   * at once and goes with the next flush (a cold one: Redis counted it in the round trip).
   */
  private distinct(e: Entry, recipient: string, live: boolean): number {
    const seen = e.seen!;
    // Full: a recipient is not counted here either way, only sent (a repeat too: PFADD takes it again).
    if (live && seen.size >= MAX_SEEN) {
      if (e.recipients!.size < MAX_PENDING_DISTINCT) e.recipients!.add(recipient, digitsValue(recipient));
      return e.shared + e.sending + e.count;
    }
    if (!seen.has(recipient)) {
      const room = seen.size < MAX_SEEN && this.memberCount < this.maxMembers;
      if (room) {
        seen.add(recipient);
        this.memberCount++;
      }
      if (!live) return -1;
      if (e.recipients!.size < MAX_PENDING_DISTINCT) {
        e.recipients!.add(recipient, digitsValue(recipient));
        if (room) e.count++;
      }
    } else if (!live) return -1;
    return e.shared + e.sending + e.count;
  }

  /**
   * Sends what every dirty counter saw since the last flush and takes the answers as the shared
   * values. One at a time; built in slices that yield to the event loop between them.
   */
  flush(): Promise<void> {
    if (this.flushing !== null) return this.flushing;
    this.flushing = this.run().finally(() => (this.flushing = null));
    return this.flushing;
  }

  private async run(): Promise<void> {
    const t0 = performance.now();
    const todo = [...this.dirty];
    this.dirty.clear();
    let groups = 0;
    const retired = this.retired;
    this.retired = [];
    for (let at = 0; at < todo.length || (at === 0 && retired.length > 0); at += SLICE) {
      const sent: Sent[] = at === 0 ? retired.map((group) => ({ entry: null, group })) : [];
      for (const e of todo.slice(at, at + SLICE)) {
        e.dirty = false;
        this.take(e, sent);
      }
      groups += sent.length;
      try {
        const values = await this.rates.runGroups(sent.map((s) => s.group));
        for (let i = 0; i < sent.length; i++) this.settle(sent[i]!, values[i]!);
      } catch (err) {
        // Last first: each puts its recipients in front of those waiting, so their order holds.
        for (let i = sent.length - 1; i >= 0; i--) this.giveBack(sent[i]!);
        this.opts.onError?.(err);
      }
      if (at + SLICE < todo.length) await new Promise<void>((r) => setImmediate(r));
    }
    if (groups > 0) this.opts.onFlush?.(groups, performance.now() - t0);
  }

  /** A dirty counter's groups into `out`, its pending counts moved onto them. */
  private take(e: Entry, out: Sent[]): void {
    const end = String((e.window + 1) * (e.kind === 'baseline' ? HOUR : e.periodMs));
    switch (e.kind) {
      case 'recent': {
        const members = e.pending!;
        e.pending = new Map();
        const strings = [e.suffix];
        for (const [m, t] of members) strings.push(m, String(t));
        out.push({ entry: e, group: { op: 'Z', end: String(this.opts.now()), entity: e.entity, strings }, members });
        return;
      }
      case 'sequence': {
        const recipients = e.recipients!;
        e.recipients = new Pending();
        for (const strings of recipients.groups(e.suffix)) out.push({ entry: e, group: { op: 'Q', end, entity: e.entity, strings } });
        return;
      }
      case 'distinct': {
        const recipients = e.recipients!;
        const count = e.count;
        e.recipients = new Pending();
        e.count = 0;
        e.sending += count;
        const groups = recipients.groups(e.suffix);
        // Nothing new here: the shared count is read again (other instances' recipients).
        if (groups.length === 0) {
          out.push({ entry: e, group: { op: 'r', end, entity: e.entity, strings: [e.suffix, ''] }, count });
          return;
        }
        // The count rides the last group, whose answer (in order, after the others) counts them all.
        groups.forEach((strings, i) => out.push({ entry: e, group: { op: 'D', end, entity: e.entity, strings }, count: i === groups.length - 1 ? count : 0 }));
        return;
      }
      case 'baseline': {
        const count = e.count;
        if (count === 0) return;
        e.count = 0;
        e.sending += count;
        out.push({ entry: e, group: { op: 'B', end, entity: e.entity, strings: [e.suffix, e.params, String(count)] }, count });
        return;
      }
      default:
        out.push({ entry: e, group: { op: 'u', end, entity: e.entity, strings: [e.suffix, ''] } });
    }
  }

  /** A group's answer: the counter's shared value (unless its window moved on meanwhile). */
  private settle(s: Sent, v: number): void {
    const e = s.entry;
    if (e === null || !Number.isFinite(v)) return;
    if (s.count !== undefined) e.sending -= s.count;
    if ((s.group.op === 'Q' || e.kind === 'distinct') && s.group.strings[0] !== e.suffix) return;
    if (s.group.op === 'B' && s.group.end !== String((e.window + 1) * HOUR)) return;
    e.shared = v;
    e.seeded = true;
  }

  /** A failed flush: the group's counts go back to be sent with the next one. */
  private giveBack(s: Sent): void {
    const e = s.entry;
    if (e === null) {
      if (this.retired.length < this.maxKeys) this.retired.push(s.group);
      return;
    }
    if (s.members !== undefined) {
      for (const [m, t] of s.members) if (!e.pending!.has(m)) e.pending!.set(m, t);
    } else if (e.kind === 'distinct') {
      e.sending -= s.count!;
      if (s.group.strings[0] === e.suffix) {
        if (s.group.op === 'D') e.recipients = Pending.back(s.group.strings.slice(1), e.recipients!, MAX_PENDING_DISTINCT);
        e.count += s.count!;
      } else if (s.group.op === 'D' && this.retired.length < this.maxKeys) this.retired.push(s.group);
    } else if (e.kind === 'sequence') {
      if (s.group.strings[0] === e.suffix) e.recipients = Pending.back(s.group.strings.slice(1), e.recipients!, MAX_PENDING_RECIPIENTS);
    } else if (s.count !== undefined) {
      e.sending -= s.count;
      if (s.group.end === String((e.window + 1) * HOUR)) e.count += s.count;
      else if (this.retired.length < this.maxKeys) this.retired.push(s.group);
    }
    if (!e.dirty && this.entries.get(e.key) === e) {
      e.dirty = true;
      this.dirty.add(e);
    }
  }
}

/** The gap of a sequence suffix ":q:<gap>:<seconds>:<window>". */
function gapOf(suffix: string): number {
  const a = suffix.indexOf(':q:');
  return a < 0 ? 0 : parseInt(suffix.slice(a + 3), 10) || 0;
}
