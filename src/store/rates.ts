/**
 * Rate counters for rules (flooding caps, frequency limits): bump every counter a message touches
 * and read the values after the bump, in one script call per hash slot.
 *
 * Windows are FIXED and aligned to the window size on the epoch (window = floor(now / windowMs)),
 * so nothing has to be reset: each window is counted on its own. Cheap, at the usual fixed-window
 * price: a sender can fit up to 2×max into any span of one window length that straddles a
 * boundary. Daily windows (86 400 s) roll over at 00:00 UTC, not local midnight. Instances count
 * in the window their own clock says: two whose clocks straddle a boundary count in two windows
 * for that moment (neither resets the other).
 *
 * Layout. A counter belongs to an entity (who is counted: a recipient, a sender, an account, …) and
 * is a field within it:
 *
 *   count     all count counters of one entity share ONE hash  <prefix>{<entity>}:n
 *             field "<counter>@<window end>" (":60@…" a minute, ":86400@…" a day,
 *             ":content:<hash>:60@…"), value the count (HINCRBY)
 *   distinct  a HyperLogLog key per counter and window          <prefix>{<entity>}<field>:d:<window>
 *             (PFADD member; PFCOUNT: 12 KB at most, ~0.8 % standard error)
 *
 * One key per entity rather than per counter and window: creating and expiring keys is much of what
 * counters cost Redis, and the three per-recipient counters of cn-miit would touch three new keys
 * per message. The window in the field name makes a bump one HINCRBY (no read, no value to parse
 * or build in Lua): measured alone, cn-miit's three counters cost 15.6 µs of script time a
 * message to a new recipient here, against 22 µs when the value held "<window end>:<count>"
 * (bench/script-micro.js, same run; the box was slow that day).
 *
 * The entity is the hash tag, so an entity's counters share a slot and cost one call on a cluster
 * too. The entity comes with the need when the rule engine made it (RateNeed.entity/field);
 * otherwise it is the key's "{…}" hash tag if it has one (the field is then the whole key), else the
 * key without a trailing window segment (the window in seconds or ms), and the field the rest.
 *
 * Expiry: a count hash lives until the latest window any of its fields is in ends, plus `slackMs`
 * (default 5 s, covering clock differences between gateway instances): a bump that creates a field
 * sets the TTL on a new key (PEXPIRE NX) or pushes it out, never in (PEXPIRE GT). TTLs are relative
 * to Redis's own clock, window ends to the gateway's: Redis and gateway clocks need not agree.
 * Fields of ended windows are dead; they are deleted once more than 64 fields were created in an
 * existing hash since its last purge (amortised O(1)), so an entity that gets many distinct
 * contents stays small. A distinct key expires at the end of its window plus the slack.
 *
 * On the gateway's hot path PolicyStore.fetchThen() puts a message's needs into the same round trip
 * as the consent/DND check: on a single Redis as plain commands (writeCommands(), the hash's purge
 * bookkeeping afterwards with fieldsMade()), or with redis.hot_path: script as lines() of
 * policy-check-batch.lua; on a cluster through bump() here (plan() turns needs into
 * PlannedCounters, bumped per hash slot). The Lua work lives in rate-counters.lua, shared by
 * rates.lua (this class's own calls), policy-check-batch.lua and rate-purge.lua.
 */
import type { Redis } from 'ioredis';
import type { RateNeed } from '../domain/store-facts.js';
import { systemClock, type Clock } from '../session/clock.js';
import { bulk, type RespWriter } from './resp-pipe.js';
import { withScripts, type ScriptClient } from './scripts.js';
import { hashTag } from './slots.js';

export interface RateStoreOptions {
  /** Where "now" comes from (window index and TTL); default the system clock. */
  clock?: Pick<Clock, 'now'>;
  /** Extra lifetime after a window ends, in ms. Default 5000. */
  slackMs?: number;
}

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
  /** c: count; d: distinct, add `member`; r: distinct, nothing to add. */
  readonly op: 'c' | 'd' | 'r';
  /**
   * The window's end (epoch ms on the gateway's clock, in decimal): identifies the window; the
   * script's TTL is this minus the horizon (now − slack) the call carries.
   */
  readonly end: string;
  /** The same as a number. */
  readonly endMs: number;
  /** The hash tag: what Redis Cluster slots by. */
  readonly entity: string;
  /** c: the counter in the entity's hash (the field adds "@" and the end); d/r: the key after "{entity}", window included. */
  readonly field: string;
  /** The member for d, "" otherwise. */
  readonly member: string;
}

const hasBreak = (s: string): boolean => s.indexOf('\t') >= 0 || s.indexOf('\n') >= 0;

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

/** Where RateStore.walk() puts one message's groups: a script's input lines, or plain commands. */
interface GroupSink {
  /** False once the needs cannot be carried (the caller falls back to plan()). */
  readonly ok: boolean;
  start(horizon: number): void;
  /** One count counter of the open group: its counter and window end (the field is "<counter>@<end>"). */
  countField(entity: string, counter: string, end: string): void;
  /** The open count group ends; `endMs`/`endText` the latest window end of its fields. */
  endCount(entity: string, endMs: number, endText: string): void;
  /** A distinct counter: `suffix` the key after "{entity}", window included; no member: nothing to add. */
  distinct(entity: string, suffix: string, member: string | undefined, endMs: number, endText: string): void;
}

/** policy-check-batch.lua's counter lines ("op end k entity TAB s1 … TAB sk\n"), which TAB and newline would break. */
class LineSink implements GroupSink {
  out = '';
  ok = true;
  private k = 0;
  private fields = '';
  start(): void {
    this.out = '';
    this.ok = true;
    this.k = 0;
    this.fields = '';
  }
  countField(entity: string, counter: string, end: string): void {
    if (hasBreak(entity) || hasBreak(counter)) this.ok = false;
    this.k++;
    this.fields += `\t${counter}@${end}`;
  }
  endCount(entity: string, _endMs: number, endText: string): void {
    this.out += `c ${endText} ${this.k} ${entity}${this.fields}\n`;
    this.k = 0;
    this.fields = '';
  }
  distinct(entity: string, suffix: string, member: string | undefined, _endMs: number, endText: string): void {
    if (hasBreak(entity) || hasBreak(suffix) || (member !== undefined && hasBreak(member))) this.ok = false;
    this.out += `${member === undefined ? 'r' : 'd'} ${endText} 2 ${entity}\t${suffix}\t${member ?? ''}\n`;
  }
}

const HINCRBY = '*4\r\n$7\r\nHINCRBY\r\n';
const ONE = '$1\r\n1\r\n';
const PEXPIRE = '*4\r\n$7\r\nPEXPIRE\r\n';
const NX = '$2\r\nNX\r\n';
const GT = '$2\r\nGT\r\n';

/**
 * The same groups as plain commands written into a RespWriter: count HINCRBY per field, then
 * PEXPIRE NX (a new hash gets its TTL) and PEXPIRE GT (a later window pushes it out, never in);
 * distinct PFADD, PEXPIRE NX, PFCOUNT. RESP is binary-safe: any name goes. `shape` says what the
 * replies are, one character each: "v" a need's value (in need order), "n" the PEXPIRE NX ending a
 * count group (0: the hash existed), "s" nothing to read.
 */
class WriterSink implements GroupSink {
  shape = '';
  readonly ok = true;
  w: RespWriter | null = null;
  private horizon = 0;
  /** The open count group's "HINCRBY <key>" and key as bulk strings. */
  private bump = '';
  private key = '';
  constructor(private readonly prefix: string) {}
  start(horizon: number): void {
    this.shape = '';
    this.horizon = horizon;
    this.key = '';
  }
  countField(entity: string, counter: string, end: string): void {
    if (this.key === '') {
      this.key = bulk(`${this.prefix}{${entity}}:n`);
      this.bump = `${HINCRBY}${this.key}`;
    }
    this.w!.raw(this.bump);
    this.w!.raw(this.field(counter, end));
    this.shape += 'v';
  }

  /**
   * A count field and the increment as bulk strings, kept per counter while its window lasts: most
   * counters (":60", ":86400") are the same for every message, only the entity differs.
   */
  private readonly fields = new Map<string, { end: string; text: string }>();
  private field(counter: string, end: string): string {
    let f = this.fields.get(counter);
    if (f === undefined || f.end !== end) {
      f = { end, text: `${bulk(`${counter}@${end}`)}${ONE}` };
      // Content counters (one per text) come and go: bounded, refilled as they recur.
      if (this.fields.size >= 1024) this.fields.clear();
      this.fields.set(counter, f);
    }
    return f.text;
  }
  endCount(_entity: string, endMs: number): void {
    const ttl = `$${ttlText(endMs, this.horizon)}`;
    this.w!.raw(`${PEXPIRE}${this.key}${ttl}${NX}${PEXPIRE}${this.key}${ttl}${GT}`);
    this.shape += 'ns';
    this.key = '';
  }
  distinct(entity: string, suffix: string, member: string | undefined, endMs: number): void {
    const key = bulk(`${this.prefix}{${entity}}${suffix}`);
    const ttl = `$${ttlText(endMs, this.horizon)}`;
    this.w!.raw(`${member === undefined ? `*2\r\n$5\r\nPFADD\r\n${key}` : `*3\r\n$5\r\nPFADD\r\n${key}${bulk(member)}`}${PEXPIRE}${key}${ttl}${NX}*2\r\n$7\r\nPFCOUNT\r\n${key}`);
    this.shape += 'ssv';
  }
}

/** Throws RangeError for a need without a usable window. */
function checkWindow(need: RateNeed): void {
  if (!Number.isFinite(need.windowMs) || need.windowMs < 1) {
    throw new RangeError(`rate counter ${need.key}: windowMs must be a positive number, got ${need.windowMs}`);
  }
}

/** A TTL (ms until `endMs`, from `horizon` = now − slack) as a bulk string's length line and digits, without the "$". */
function ttlText(endMs: number, horizon: number): string {
  const t = String(Math.max(1, endMs - horizon));
  return `${t.length}\r\n${t}\r\n`;
}

/** The Redis key a planned counter lives in. */
function redisKeyOf(prefix: string, c: PlannedCounter): string {
  return c.op === 'c' ? `${prefix}{${c.entity}}:n` : `${prefix}{${c.entity}}${c.field}`;
}

interface PendingBump {
  plans: readonly PlannedCounter[];
  resolve(values: number[]): void;
  reject(err: unknown): void;
}

/** Most counters one batched script call carries. */
const MAX_BATCH_KEYS = 2048;

export class RateStore {
  private readonly clock: Pick<Clock, 'now'>;
  private readonly scripts: ScriptClient;
  private readonly slackMs: number;
  private pending: PendingBump[] = [];
  private flushScheduled = false;
  /** The current window's end in decimal, by window length. */
  private readonly ends = new Map<number, { window: number; text: string }>();

  constructor(
    readonly redis: Redis,
    readonly prefix: string,
    opts: RateStoreOptions = {},
  ) {
    this.clock = opts.clock ?? systemClock;
    this.slackMs = opts.slackMs ?? 5_000;
    this.scripts = withScripts(redis);
  }

  /** The end of window `window` of length `windowMs`, in decimal, built once per window. */
  private endText(window: number, windowMs: number): string {
    let hit = this.ends.get(windowMs);
    if (hit === undefined || hit.window !== window) {
      hit = { window, text: String((window + 1) * windowMs) };
      if (this.ends.size < 64 || this.ends.has(windowMs)) this.ends.set(windowMs, hit);
    }
    return hit.text;
  }

  /** Count fields whose window ended before this are dead (the scripts' purge). */
  horizon(now = this.clock.now()): number {
    return now - this.slackMs;
  }

  /** The Redis key of a counter's current window (the entity's hash for a count). */
  keyFor(need: RateNeed, now = this.clock.now()): string {
    return redisKeyOf(this.prefix, this.planOne(need, now));
  }

  /** A need's entity and field (before a distinct counter's window suffix), set by resolve(): no object per need. */
  private rEntity = '';
  private rField = '';

  private resolve(need: RateNeed): void {
    checkWindow(need);
    if (need.entity !== undefined && need.field !== undefined) {
      this.rEntity = need.entity;
      this.rField = need.field;
      return;
    }
    const key = need.key;
    const tag = hashTag(key);
    if (tag !== key) {
      this.rEntity = tag;
      this.rField = key;
    } else {
      this.rEntity = rateEntity(key, need.windowMs);
      this.rField = key.slice(this.rEntity.length);
    }
  }

  /**
   * Walks one message's needs as script groups, in order (consecutive count counters of one entity
   * form one group; each distinct counter its own), into `sink`, straight from the needs: plan
   * objects would live across the round trip, and at tens of thousands of messages a second what
   * lives across it is what garbage collection costs. False when a key is listed twice (use plan()
   * then). Throws RangeError for a need without a usable window.
   */
  private walk(needs: readonly RateNeed[], sink: GroupSink): boolean {
    const now = this.clock.now();
    sink.start(now - this.slackMs);
    // The open count group: consecutive count counters of one entity.
    let entity: string | null = null;
    let lastMs = 0;
    let lastText = '';
    for (let i = 0; i < needs.length; i++) {
      const need = needs[i]!;
      for (let j = 0; j < i; j++) if (needs[j]!.key === need.key) return false;
      this.resolve(need);
      const e = this.rEntity;
      const window = Math.floor(now / need.windowMs);
      const end = this.endText(window, need.windowMs);
      if (need.kind === 'count') {
        if (e !== entity) {
          if (entity !== null) sink.endCount(entity, lastMs, lastText);
          entity = e;
          lastMs = 0;
        }
        sink.countField(e, this.rField, end);
        const endMs = (window + 1) * need.windowMs;
        if (endMs > lastMs) {
          lastMs = endMs;
          lastText = end;
        }
      } else {
        if (entity !== null) sink.endCount(entity, lastMs, lastText);
        entity = null;
        sink.distinct(e, `${this.rField}:d:${window}`, need.member, (window + 1) * need.windowMs, end);
      }
    }
    if (entity !== null) sink.endCount(entity, lastMs, lastText);
    return sink.ok;
  }

  private readonly lineSink = new LineSink();
  private writerSink: WriterSink | null = null;

  /**
   * One message's counters as lines of policy-check-batch.lua's input (rate-counters.lua: one line
   * a group, "op end k entity TAB s1 … TAB sk"). The values come back one per need, in order. Null
   * when lines cannot carry the needs (TAB or newline in a name, or a key listed twice): use plan()
   * then. Throws RangeError for a need without a usable window.
   */
  lines(needs: readonly RateNeed[]): string | null {
    return this.walk(needs, this.lineSink) ? this.lineSink.out : null;
  }

  /**
   * Whether one message's needs can go as plain commands (RespWriter): false when a key is listed
   * twice (use plan() then). Throws RangeError for a need without a usable window. Checked before a
   * batch is written, so writeCommands() cannot fail half-way through it.
   */
  pipeable(needs: readonly RateNeed[]): boolean {
    for (let i = 0; i < needs.length; i++) {
      const need = needs[i]!;
      checkWindow(need);
      for (let j = 0; j < i; j++) if (needs[j]!.key === need.key) return false;
    }
    return true;
  }

  /** Writes one message's counters (pipeable()) as plain commands into `w`; returns their reply shape (WriterSink). */
  writeCommands(needs: readonly RateNeed[], w: RespWriter): string {
    const sink = (this.writerSink ??= new WriterSink(this.prefix));
    sink.w = w;
    this.walk(needs, sink);
    sink.w = null;
    return sink.shape;
  }

  /** The Redis key of a count need's hash (the purge bookkeeping of the plain-command path). */
  countKey(need: RateNeed): string {
    this.resolve(need);
    return `${this.prefix}{${this.rEntity}}:n`;
  }

  /**
   * Fields made in existing count hashes by the plain-command path (`counts[i]` in `keys[i]`): what
   * the Lua path does inside its script after a bump, in one call for a batch (rate-purge.lua).
   */
  fieldsMade(keys: readonly string[], counts: readonly number[]): Promise<number> {
    return this.scripts.sgRatePurge(keys.length, ...keys, this.horizon(), ...counts);
  }

  private planOne(need: RateNeed, now: number): PlannedCounter {
    this.resolve(need);
    const entity = this.rEntity;
    let field = this.rField;
    const window = Math.floor(now / need.windowMs);
    const end = this.endText(window, need.windowMs);
    const endMs = (window + 1) * need.windowMs;
    const count = need.kind === 'count';
    const member = !count && need.member !== undefined ? need.member : '';
    if (!count) field = `${field}:d:${window}`;
    return {
      needKey: need.key,
      op: count ? 'c' : need.member === undefined ? 'r' : 'd',
      end,
      endMs,
      entity,
      field,
      member,
    };
  }

  /**
   * The script-call entries for one message's counters, at the current time: a key listed twice
   * (two rules sharing a counter) is planned once, and count counters of one entity are put next
   * to each other (the script reads and writes them together). Throws RangeError for a need
   * without a usable window.
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
      const p = this.planOne(need, now);
      // After the last count counter of the same entity (usually the one just before: rules list
      // their counters of one recipient together).
      let at = plans.length;
      if (p.op === 'c') {
        for (let j = plans.length - 1; j >= 0; j--) {
          const q = plans[j]!;
          if (q.op === 'c' && q.entity === p.entity) {
            at = j + 1;
            break;
          }
        }
      }
      if (at === plans.length) plans.push(p);
      else plans.splice(at, 0, p);
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
