/**
 * The compiled rule set: rules are closures built once at load (compile.ts); evaluation walks them
 * in order over one per-message Facts object that derives what conditions ask for (normalised
 * text, domains, signature, content hash) lazily and at most once.
 *
 * Per-rule match counts go into plain number slots shared with the loader's Prometheus counter
 * (RuleCounts), flushed at scrape: no label hashing per message.
 */
import type { SenderClass } from '../domain/sender.js';
import { foldChars, lightOf, normaliseFolded, type NormalText } from './normalise.js';
import { extractDomains } from './lists.js';
import type { RatePer } from './schema.js';
import type { CompiledRuleSet, RuleAction, RuleContext, RuleHit, RuleOutcome, RuleState } from './types.js';
import type { RateNeed } from '../domain/store-facts.js';

/** A compiled condition. */
export type Cond = (f: Facts) => boolean;

export interface RateRule {
  per: RatePer;
  windowMs: number;
  max: number;
  /** Count distinct recipients instead of messages. */
  distinct: boolean;
}

/** One counter slot per (rule, action, mode): the rule's match count. */
export interface CountSlot {
  readonly rule: string;
  readonly action: RuleAction['kind'];
  readonly mode: 'enforce' | 'monitor';
  n: number;
  reported: number;
}

/** Match counts by rule, shared across reloads so counts recorded on a retired set still export. */
export class RuleCounts {
  private readonly slots = new Map<string, CountSlot>();

  slot(rule: string, action: RuleAction['kind'], mode: 'enforce' | 'monitor'): CountSlot {
    const key = `${rule}\u0001${action}\u0001${mode}`;
    let s = this.slots.get(key);
    if (!s) {
      s = { rule, action, mode, n: 0, reported: 0 };
      this.slots.set(key, s);
    }
    return s;
  }

  /** Hands every count not yet reported to `inc` (called when Prometheus scrapes). */
  flush(inc: (labels: { rule: string; action: string; mode: string }, n: number) => void): void {
    for (const s of this.slots.values()) {
      if (s.n === s.reported) continue;
      inc({ rule: s.rule, action: s.action, mode: s.mode }, s.n - s.reported);
      s.reported = s.n;
    }
  }

  get(rule: string, action: RuleAction['kind'], mode: 'enforce' | 'monitor'): number {
    return this.slots.get(`${rule}\u0001${action}\u0001${mode}`)?.n ?? 0;
  }
}

/** A rule hit that knows its counter slot (kept private so hits compare as plain RuleHits). */
export class Hit implements RuleHit {
  readonly #slot: CountSlot;

  constructor(
    readonly rule: string,
    readonly action: RuleAction,
    readonly mode: 'enforce' | 'monitor',
    slot: CountSlot,
  ) {
    this.#slot = slot;
  }

  count(): void {
    this.#slot.n++;
  }
}

export interface CompiledRule {
  readonly id: string;
  /** "file:line:col" of the rule, for messages. */
  readonly where: string;
  readonly mode: 'enforce' | 'monitor';
  readonly action: RuleAction;
  readonly hit: Hit;
  /** Every condition but the rate. */
  readonly cond: Cond;
  readonly rate: RateRule | null;
}

const SIG_START = /^【([^【】\s][^【】]{0,29})】/;
const SIG_END = /【([^【】\s][^【】]{0,29})】$/;

/** 64-bit FNV-1a over UTF-16 code units, as 16 hex digits (identical-content counters). */
function contentHashOf(s: string): string {
  let h1 = 0x811c9dc5;
  let h2 = 0x050c5d1f;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x01000193) ^ (h1 >>> 13);
  }
  return (h1 >>> 0).toString(16).padStart(8, '0') + (h2 >>> 0).toString(16).padStart(8, '0');
}

/** What the text-based conditions look at, computed on first use; a pure function of the text. */
export class TextFacts {
  private foldedText: string | null = null;
  private normText: NormalText | null = null;
  private domainList: string[] | null = null;
  private sig: string | null | undefined = undefined;
  private hash: string | null = null;
  /** Results of conditions that read the text only (keyed by the compiled condition). */
  private memo: Map<Cond, boolean> | null = null;

  constructor(readonly text: string) {}

  get folded(): string {
    return (this.foldedText ??= foldChars(this.text));
  }

  get norm(): NormalText {
    return (this.normText ??= normaliseFolded(this.folded));
  }

  get domains(): readonly string[] {
    return (this.domainList ??= extractDomains(lightOf(this.folded)));
  }

  get signature(): string | null {
    if (this.sig === undefined) {
      const t = this.text.trim();
      const m = SIG_START.exec(t) ?? SIG_END.exec(t);
      this.sig = m ? foldChars(m[1]!).trim() : null;
    }
    return this.sig;
  }

  get contentHash(): string {
    return (this.hash ??= contentHashOf(this.norm.plain));
  }

  private cfTail: string | null = null;
  private cf = '';

  /** ":content:<hash><tail>": a content counter's field, built once per text (and tail). */
  contentField(tail: string): string {
    if (this.cfTail !== tail) {
      this.cf = `:content:${this.contentHash}${tail}`;
      this.cfTail = tail;
    }
    return this.cf;
  }

  /** `cond` (which reads nothing but the text) for this text, computed once. */
  test(cond: Cond, f: Facts): boolean {
    let m = this.memo;
    if (m === null) m = this.memo = new Map();
    let v = m.get(cond);
    if (v === undefined) {
      v = cond(f);
      m.set(cond, v);
    }
    return v;
  }
}

/** Distinct texts whose TextFacts are kept (bulk traffic repeats the same text to many numbers). */
const TEXT_CACHE_ENTRIES = 512;
/** Longer texts are not kept across messages. */
const TEXT_CACHE_MAX_CHARS = 2048;

/** Recent texts' facts, oldest first (bounded; per rule set, so a reload starts afresh). */
export class TextCache {
  private readonly map = new Map<string, TextFacts>();

  of(text: string): TextFacts {
    const map = this.map;
    let t = map.get(text);
    if (t !== undefined) return t;
    t = new TextFacts(text);
    if (text.length <= TEXT_CACHE_MAX_CHARS) {
      if (map.size >= TEXT_CACHE_ENTRIES) map.delete(map.keys().next().value!);
      map.set(text, t);
    }
    return t;
  }
}

/** Rules whose condition results needsOf() hands to decide() (bits of a 32-bit mask). */
const MEMO_RULES = 31;

/** One frozen ["label"] per label: the usual first tag of a message allocates no array. */
const SOLE_LABELS = new Map<string, readonly string[]>();
function soleLabel(label: string): string[] {
  let l = SOLE_LABELS.get(label);
  if (l === undefined) {
    l = Object.freeze([label]);
    if (SOLE_LABELS.size < 1000) SOLE_LABELS.set(label, l);
  }
  return l as string[];
}

/** What one message's conditions look at, derived on first use. */
export class Facts {
  state: RuleState;
  private t: TextFacts | null = null;
  /** Rate counters by rule index, built once per message (needsOf and decide share them). */
  needs: (RateNeed | undefined)[] | null = null;
  /** The last counter entity built, and the head it was built from (rules of one entity share it). */
  lastHead: string | null = null;
  lastEntity = '';
  /**
   * Condition results by rule index from needsOf()'s walk, for decide() to reuse while its walk is
   * the same (until a rate rule fires): bit i of `evaluated` says rule i's condition was evaluated,
   * bit i of `held` that it held. Bit masks, not an array per message: rule sets beyond
   * MEMO_RULES rules do not reuse them (`evaluated` stays 0).
   */
  evaluated = 0;
  held = 0;
  /** A tag has changed `state` since it was last the initial one. */
  private tagged = false;

  constructor(
    readonly ctx: RuleContext,
    readonly initial: RuleState,
    private readonly cache: TextCache | null = null,
  ) {
    this.state = { class: initial.class, category: initial.category, labels: initial.labels };
  }

  /** The message's text facts (the text is read only when a condition needs it). */
  get text(): TextFacts {
    let t = this.t;
    if (t === null) {
      const text = this.ctx.text;
      t = this.t = this.cache ? this.cache.of(text) : new TextFacts(text);
    }
    return t;
  }

  /** The text normalised for keyword matching (normalise.ts). */
  get norm(): NormalText {
    return this.text.norm;
  }

  /** Domains of the URLs in the text. */
  get domains(): readonly string[] {
    return this.text.domains;
  }

  /** The 【brand】 at the start (or else the end) of the text, folded (case, width); null if none. */
  get signature(): string | null {
    return this.text.signature;
  }

  get contentHash(): string {
    return this.text.contentHash;
  }


  /** Back to the initial state (evaluate after rateNeeds on the same facts). */
  reset(): void {
    if (!this.tagged) return;
    const i = this.initial;
    this.state = { class: i.class, category: i.category, labels: i.labels };
    this.tagged = false;
  }

  apply(a: Extract<RuleAction, { kind: 'tag' }>): void {
    this.tagged = true;
    const s = this.state;
    let labels = s.labels;
    if (a.label !== undefined && !labels.includes(a.label)) labels = labels.length === 0 ? soleLabel(a.label) : [...labels, a.label];
    this.state = { class: a.class ?? s.class, category: a.category ?? s.category, labels };
  }
}

/**
 * A rate rule's counter, less what depends on the message: the entity is `head` + the subject
 * (recipient, sender, …), the field `field` — or, for content_recipient, ":content:<hash>" + `field`
 * in the recipient's entity, so every counter of one recipient lives in one Redis hash.
 */
interface CounterParts {
  head: string;
  field: string;
  content: boolean;
}

function counterParts(r: RateRule): CounterParts {
  const field = `:${r.windowMs / 1000}${r.distinct ? ':distinct' : ''}`;
  const per = r.per === 'content_recipient' ? 'recipient' : r.per;
  return { head: `rate:${per}:`, field, content: r.per === 'content_recipient' };
}

function subjectOf(per: RatePer, f: Facts): string {
  const c = f.ctx;
  switch (per) {
    case 'sender':
      return c.src.value;
    case 'recipient':
    case 'content_recipient':
      return c.dst;
    case 'account':
      return c.account;
    case 'sender_recipient':
      return `${c.src.value}:${c.dst}`;
  }
}

/** One message's counter for rate rule `r` (key = entity + field). */
function counterOf(r: RateRule, parts: CounterParts, f: Facts): RateNeed {
  let entity: string;
  if (f.lastHead === parts.head) entity = f.lastEntity;
  else {
    entity = f.lastEntity = parts.head + subjectOf(r.per, f);
    f.lastHead = parts.head;
  }
  const field = parts.content ? f.text.contentField(parts.field) : parts.field;
  const key = entity + field;
  return r.distinct
    ? { key, windowMs: r.windowMs, kind: 'distinct', member: f.ctx.dst, entity, field }
    : { key, windowMs: r.windowMs, kind: 'count', entity, field };
}

export function describeAction(a: RuleAction): string {
  switch (a.kind) {
    case 'forward':
      return 'forward';
    case 'reject':
      return `reject ${a.reason} (status 0x${a.status.toString(16)})`;
    case 'queue':
      return `queue ${a.queue}`;
    case 'tag':
      return `tag ${[a.class && `class=${a.class}`, a.category && `category=${a.category}`, a.label && `label=${a.label}`].filter(Boolean).join(' ')}`;
  }
}

export class RuleSet implements CompiledRuleSet {
  readonly ruleIds: readonly string[];
  private readonly byId: Map<string, CompiledRule>;
  /** Per rule: the message-independent parts of its counter (null: no rate). */
  private readonly counterParts: (CounterParts | null)[];
  private readonly texts = new TextCache();

  constructor(
    readonly rules: readonly CompiledRule[],
    readonly version: string,
    readonly files: readonly string[],
    readonly counts: RuleCounts,
  ) {
    this.ruleIds = rules.map((r) => r.id);
    this.byId = new Map(rules.map((r) => [r.id, r]));
    this.counterParts = rules.map((r) => (r.rate ? counterParts(r.rate) : null));
  }

  static empty(counts = new RuleCounts()): RuleSet {
    return new RuleSet([], 'empty', [], counts);
  }

  rule(id: string): CompiledRule | undefined {
    return this.byId.get(id);
  }

  /** One message's facts, for needsOf() then decide() (text facts shared with recent identical texts). */
  facts(ctx: RuleContext, initial: RuleState): Facts {
    return new Facts(ctx, initial, this.texts);
  }

  /** The counter of rule `i` (which has a rate) for this message, built once per message. */
  private needOf(i: number, r: RateRule, f: Facts): RateNeed {
    let needs = f.needs;
    if (needs === null) needs = f.needs = new Array<RateNeed | undefined>(this.rules.length);
    let n = needs[i];
    if (n === undefined) n = needs[i] = counterOf(r, this.counterParts[i]!, f);
    return n;
  }

  /**
   * The counters this message touches: those of rate rules whose other conditions hold, walking the
   * rules as evaluate() would (tags applied) and stopping at the first enforce-mode
   * forward/reject/queue rule that has no rate. A tag rule with a rate is not applied here.
   */
  rateNeeds(ctx: RuleContext, initial: RuleState): RateNeed[] {
    return this.needsOf(this.facts(ctx, initial));
  }

  /** rateNeeds() on facts from facts() (leaves them in their initial state for decide()). */
  needsOf(f: Facts): RateNeed[] {
    const needs: RateNeed[] = [];
    const rules = this.rules;
    const memo = rules.length <= MEMO_RULES;
    let evaluated = 0;
    let held = 0;
    for (let i = 0; i < rules.length; i++) {
      const r = rules[i]!;
      const holds = r.cond(f);
      if (memo) {
        evaluated |= 1 << i;
        if (holds) held |= 1 << i;
        f.evaluated = evaluated;
        f.held = held;
      }
      if (!holds) continue;
      if (r.rate !== null) {
        const need = this.needOf(i, r.rate, f);
        let dup = false;
        for (const n of needs) if (n.key === need.key) dup = true;
        if (!dup) needs.push(need);
        continue;
      }
      if (r.mode === 'monitor') continue;
      if (r.action.kind === 'tag') f.apply(r.action);
      else break;
    }
    return needs;
  }

  /** The counter one rule reads for this message (null: not a rate rule). */
  rateNeedOf(ruleId: string, ctx: RuleContext, initial: RuleState): RateNeed | null {
    const r = this.byId.get(ruleId);
    if (!r?.rate) return null;
    return this.needOf(this.rules.indexOf(r), r.rate, this.facts(ctx, initial));
  }

  /**
   * Runs the rules in order. A rate condition holds when the counter (after counting this message)
   * exceeds max; a counter missing from `counters` reads 0. Pure: call record() to count the hits.
   */
  evaluate(ctx: RuleContext, initial: RuleState, counters: ReadonlyMap<string, number>, trace: string[] | null = null): RuleOutcome {
    return this.decide(this.facts(ctx, initial), counters, trace);
  }

  /** evaluate() on facts from facts() (after needsOf(), whose rate keys it reuses). */
  decide(f: Facts, counters: Pick<ReadonlyMap<string, number>, 'get'>, trace: string[] | null = null): RuleOutcome {
    f.reset();
    const hits: RuleHit[] = [];
    let final: RuleHit | null = null;
    const rules = this.rules;
    // needsOf()'s condition results hold while this walk is the same as its walk: the same rules
    // in the same state, which changes only when a rate rule fires (needsOf cannot know it would).
    let evaluated = f.evaluated;
    const held = f.held;
    for (let i = 0; i < rules.length; i++) {
      const r = rules[i]!;
      const bit = 1 << i;
      if ((evaluated & bit) !== 0 ? (held & bit) === 0 : !r.cond(f)) continue;
      if (r.rate !== null) {
        const n = counters.get(this.needOf(i, r.rate, f).key) ?? 0;
        if (n <= r.rate.max) continue;
        trace?.push(`rule ${r.id}: rate ${n} > ${r.rate.max} per ${r.rate.windowMs / 1000}s`);
        evaluated = 0;
      }
      hits.push(r.hit);
      if (r.mode === 'monitor') {
        trace?.push(`rule ${r.id} matched (monitor, not applied): would ${describeAction(r.action)}`);
        continue;
      }
      trace?.push(`rule ${r.id} matched: ${describeAction(r.action)}`);
      if (r.action.kind === 'tag') f.apply(r.action);
      else {
        final = r.hit;
        break;
      }
    }
    return { state: f.state, final, hits };
  }

  /** Counts the hits of a decision in smppguard_rule_matches_total (live traffic only, not explain). */
  record(hits: readonly RuleHit[]): void {
    for (const h of hits) if (h instanceof Hit) h.count();
  }
}

/** Counts hits in smppguard_rule_matches_total, whichever rule set produced them. */
export function recordHits(hits: readonly RuleHit[]): void {
  for (const h of hits) if (h instanceof Hit) h.count();
}

/** The class a message starts with before any rule: the classifier's, else the sender's. */
export function initialState(classifierClass: SenderClass | null, senderClass: SenderClass | null, category: number | null): RuleState {
  return { class: classifierClass ?? senderClass, category, labels: [] };
}
