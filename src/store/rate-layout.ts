/**
 * Rate counters for rules (flooding caps, frequency limits): where they live in Redis and how one
 * message's needs become the groups a script or a batch bumps. No Redis I/O here (rates.ts does
 * the calls; rate-encoding.ts writes a message's groups into the hot path's batch).
 *
 * Windows are FIXED and aligned to the window size on the epoch (window = floor(now / periodMs)),
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
 * On the gateway's hot path PolicyCheck.fetchThen() (policy-check.ts) puts a message's needs into
 * the same round trip as the consent/DND check: on a single Redis as plain commands
 * (writeCommands(); the purge bookkeeping, and the TTL of an existing hash that got new fields,
 * afterwards with RateStore.fieldsMade()), or with
 * redis.hot_path: script as lines() of policy-check-batch.lua; on a cluster through
 * RateStore.bump() (plan() turns needs into PlannedCounters, bumped per hash slot). The Lua work
 * lives in rate-counters.lua, shared by rates.lua (RateStore's own calls), policy-check-batch.lua
 * and rate-purge.lua.
 */
import type { RateNeed } from '../domain/store-facts.js';
import { systemClock, type Clock } from '../session/clock.js';
import { LineSink, WriterSink, type GroupSink } from './rate-encoding.js';
import type { RespWriter } from './resp-pipe.js';
import { hashTag } from './slots.js';

export interface RateLayoutOptions {
  /** Where "now" comes from (window index and TTL); default the system clock. */
  clock?: Pick<Clock, 'now'>;
  /** Extra lifetime after a window ends, in ms. Default 5000. */
  slackMs?: number;
  /** Sender behaviour profiles' baseline (config `behaviour`); defaults in BEHAVIOUR_DEFAULTS. */
  behaviour?: Partial<BaselineParams>;
}

/** The baseline's parameters (config `behaviour`), read by behaviour.lua's baseline function. */
export interface BaselineParams {
  /** EWMA weight of the newest day, 2 / (days + 1) for a ~days-long memory. */
  alpha: number;
  /** Days an hour of the day must have been seen before its baseline counts. */
  minDays: number;
  /** Lifetime of a profile after its last hour roll or receipt, ms. */
  ttlMs: number;
}

export const BEHAVIOUR_DEFAULTS: BaselineParams = { alpha: 0.25, minDays: 3, ttlMs: 8 * 86_400_000 };

/** The script op of each need that only the scripts count (store/lua/behaviour.lua; z: rate-counters.lua's sliding distinct). */
export const BEHAVIOUR_OPS = { sequence: 'q', baseline: 'b', receipts: 'u', recent: 'z' } as const;
export type BehaviourOp = (typeof BEHAVIOUR_OPS)[keyof typeof BEHAVIOUR_OPS];

/** Whether a message's needs include a behaviour profile or a sliding distinct counter (those go in the batched script, never as plain commands). */
export function hasBehaviour(needs: readonly RateNeed[]): boolean {
  for (const n of needs) if (n.kind !== 'count' && n.kind !== 'distinct') return true;
  return false;
}

/** The counter's entity: the key without a trailing ":<window>" segment (window in s or ms). */
export function rateEntity(key: string, periodMs: number): string {
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
  return n * 1000 === periodMs || n === periodMs ? key.slice(0, colon) : key;
}

/** One counter of one message, ready for a script call (rates.lua, or policy-check-batch.lua with the consent check). */
export interface PlannedCounter {
  /** RateNeed.key: what the rules look the value up by. */
  readonly needKey: string;
  /** c: count; d: distinct, add `member`; r: distinct, nothing to add; q, b, u: behaviour (BEHAVIOUR_OPS). */
  readonly op: 'c' | 'd' | 'r' | BehaviourOp;
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

/** Throws RangeError for a need without a usable window. */
function checkWindow(need: RateNeed): void {
  if (!Number.isFinite(need.periodMs) || need.periodMs < 1) {
    throw new RangeError(`rate counter ${need.key}: periodMs must be a positive number, got ${need.periodMs}`);
  }
}

/** The Redis key a planned counter lives in. */
export function redisKeyOf(prefix: string, c: PlannedCounter): string {
  return c.op === 'c' ? `${prefix}{${c.entity}}:n` : `${prefix}{${c.entity}}${c.field}`;
}

/**
 * The layout of one key prefix's counters at the clock's time: window ends, keys, and a message's
 * needs as planned counters (plan()) or as script groups walked into a sink (lines(),
 * writeCommands()).
 */
export class RateLayout {
  private readonly clock: Pick<Clock, 'now'>;
  private readonly slackMs: number;
  /** The current window's end in decimal, by window length. */
  private readonly ends = new Map<number, { window: number; text: string }>();

  constructor(
    readonly prefix: string,
    opts: RateLayoutOptions = {},
  ) {
    this.clock = opts.clock ?? systemClock;
    this.slackMs = opts.slackMs ?? 5_000;
    const b = { ...BEHAVIOUR_DEFAULTS, ...opts.behaviour };
    this.baselineParams = `${b.alpha} ${b.minDays} ${Math.round(b.ttlMs)}`;
  }

  /** The baseline's parameters as behaviour.lua reads them: "alpha min_days ttl_ms". */
  readonly baselineParams: string;

  /** The end of window `window` of length `periodMs`, in decimal, built once per window. */
  private endText(window: number, periodMs: number): string {
    let hit = this.ends.get(periodMs);
    if (hit === undefined || hit.window !== window) {
      hit = { window, text: String((window + 1) * periodMs) };
      if (this.ends.size < 64 || this.ends.has(periodMs)) this.ends.set(periodMs, hit);
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
      this.rEntity = rateEntity(key, need.periodMs);
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
  private walk(needs: readonly RateNeed[], sink: GroupSink, now = this.clock.now()): boolean {
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
      const window = Math.floor(now / need.periodMs);
      const end = this.endText(window, need.periodMs);
      if (need.kind === 'count') {
        if (e !== entity) {
          if (entity !== null) sink.endCount(entity, lastMs, lastText);
          entity = e;
          lastMs = 0;
        }
        sink.countField(e, this.rField, end);
        const endMs = (window + 1) * need.periodMs;
        if (endMs > lastMs) {
          lastMs = endMs;
          lastText = end;
        }
      } else {
        if (entity !== null) sink.endCount(entity, lastMs, lastText);
        entity = null;
        if (need.kind === 'distinct') sink.distinct(e, `${this.rField}:d:${window}`, need.member, (window + 1) * need.periodMs, end);
        else sink.behaviour(BEHAVIOUR_OPS[need.kind], e, this.behaviourSuffix(need, window), this.behaviourMember(need), need.kind === 'recent' ? String(now) : end);
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
      if (need.kind !== 'count' && need.kind !== 'distinct') return false;
      for (let j = 0; j < i; j++) if (needs[j]!.key === need.key) return false;
    }
    return true;
  }

  /** The clock's time: what a batch passes to writeCommands() and, for its replies, to pushOutTo(). */
  now(): number {
    return this.clock.now();
  }

  /** Writes one message's counters (pipeable()) as plain commands into `w`, windows as of `now`; returns their reply shape (WriterSink). */
  writeCommands(needs: readonly RateNeed[], w: RespWriter, now = this.clock.now()): string {
    const sink = (this.writerSink ??= new WriterSink(this.prefix));
    sink.w = w;
    this.walk(needs, sink, now);
    sink.w = null;
    return sink.shape;
  }

  /** The Redis key of a count need's hash (the purge bookkeeping of the plain-command path). */
  countKey(need: RateNeed): string {
    this.resolve(need);
    return `${this.prefix}{${this.rEntity}}:n`;
  }

  /**
   * Where the bump of the count group needs[first..end) (windows as of `now`, `values` after the
   * bump) must push its existing hash's TTL: the group's latest window end (ms) when a field of
   * that end was made by it (value 1), else 0, nothing. A hash lives to the latest end of the
   * fields in it, plus slack: a field made with its hash got that TTL from PEXPIRE NX, one made in
   * it later from this. So a group whose latest-ending field was there already ends no later than
   * the hash (the usual repeat: a new minute's fields, the day's already counting).
   */
  pushOutTo(needs: readonly RateNeed[], first: number, end: number, values: readonly number[], now: number): number {
    let last = 0;
    let made = false;
    for (let i = first; i < end; i++) {
      const periodMs = needs[i]!.periodMs;
      const e = (Math.floor(now / periodMs) + 1) * periodMs;
      if (e > last) {
        last = e;
        made = values[i] === 1;
      } else if (e === last && values[i] === 1) made = true;
    }
    return made ? last : 0;
  }

  /** A behaviour need's key suffix after "{entity}": the sequence state is per window, the profile hash is one key. */
  private behaviourSuffix(need: RateNeed, window: number): string {
    if (need.kind === 'recent') return `${this.rField}:z:${need.periodMs}`;
    return need.kind === 'sequence' ? `${this.rField}:${window}` : this.rField;
  }

  /** What a behaviour need's script function reads besides its key: the recipient, or the baseline's parameters. */
  private behaviourMember(need: RateNeed): string {
    if (need.kind === 'sequence' || need.kind === 'recent') return need.member ?? '';
    return need.kind === 'baseline' ? this.baselineParams : '';
  }

  private planOne(need: RateNeed, now: number): PlannedCounter {
    this.resolve(need);
    const entity = this.rEntity;
    let field = this.rField;
    const window = Math.floor(now / need.periodMs);
    const end = this.endText(window, need.periodMs);
    const endMs = (window + 1) * need.periodMs;
    if (need.kind !== 'count' && need.kind !== 'distinct') {
      // A sliding counter's "end" is now: the script keeps members seen after now − period.
      const recent = need.kind === 'recent';
      return {
        needKey: need.key,
        op: BEHAVIOUR_OPS[need.kind],
        end: recent ? String(now) : end,
        endMs: recent ? now : endMs,
        entity,
        field: this.behaviourSuffix(need, window),
        member: this.behaviourMember(need),
      };
    }
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
}
