/**
 * What one message's rule conditions look at, derived lazily and at most once per message (and
 * per text, across messages, through a small cache): the folded and normalised text, the domains
 * of its links, the 【brand】 signature, a content hash; plus the rule state tags change.
 */
import type { RateNeed } from '../domain/store-facts.js';
import { RecentCache } from '../domain/recent.js';
import { extractDomains } from './lists.js';
import { fingerprintOf, type Fingerprint } from './fingerprint.js';
import { deobfuscateLinks, domainCandidates } from './links.js';
import { extractNumbers } from './numbers.js';
import { foldChars, lightOf, normaliseFolded, type NormalText } from './normalise.js';
import type { RuleAction, RuleContext, RuleState, ScoreModel, ScoreRecord } from './types.js';

/** A compiled condition. */
export type Cond = (f: Facts) => boolean;

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
  private candidateList: string[] | null = null;
  private fp: Fingerprint | null = null;
  private numberList: string[] | null = null;
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

  /** Domains of the text's links, obfuscated dots read as dots (links.ts, the strict reading). */
  get domains(): readonly string[] {
    return (this.domainList ??= extractDomains(deobfuscateLinks(lightOf(this.folded))));
  }

  /** What blocked-domain checks look at: every reading of links.ts (spaces inside hosts too). */
  get domainCandidates(): readonly string[] {
    return (this.candidateList ??= domainCandidates(lightOf(this.folded), this.domains));
  }

  /** The campaign fingerprint (fingerprint.ts), taken once per text: only when a rule asks. */
  get fingerprint(): Fingerprint {
    return (this.fp ??= fingerprintOf(this.folded));
  }

  /** Phone numbers in the text (numbers.ts), digits only. */
  get numbers(): readonly string[] {
    return (this.numberList ??= extractNumbers(this.folded));
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

  private scoreMemo: Map<ScoreModel, number> | null = null;

  /** A model's score of this text, computed once per model instance (a reloaded model is a new one). */
  score(model: ScoreModel): number {
    let m = this.scoreMemo;
    if (m === null) m = this.scoreMemo = new Map();
    let p = m.get(model);
    if (p === undefined) {
      p = model.score(this.norm.plain);
      m.set(model, p);
    }
    return p;
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

/** Recent texts' facts (bounded; per rule set, so a reload starts afresh). */
export class TextCache {
  private readonly map = new RecentCache<string, TextFacts>(TEXT_CACHE_ENTRIES);

  of(text: string): TextFacts {
    let t = this.map.get(text);
    if (t !== undefined) return t;
    t = new TextFacts(text);
    if (text.length <= TEXT_CACHE_MAX_CHARS) this.map.set(text, t);
    return t;
  }
}

/** Rules whose condition results needsOf() hands to decide() (bits of a 32-bit mask). */
export const MEMO_RULES = 31;

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


  /** Scores this message's rules asked for (per message: explain and the audit see each once). */
  private scored: ScoreRecord[] | null = null;

  /**
   * The model's score of this message: once per message (and per text across messages), recorded in
   * ctx.scores for the audit and, under explain, traced with the n-grams that pushed it most.
   */
  scoreOf(name: string, model: ScoreModel): number {
    const scored = this.scored;
    if (scored !== null) for (const r of scored) if (r.of === model) return r.p;
    const p = this.text.score(model);
    const rec: ScoreRecord = { model: name, p, of: model };
    if (scored === null) this.scored = [rec];
    else scored.push(rec);
    const ctx = this.ctx;
    if (ctx.scores !== undefined) {
      if (ctx.scores === null) ctx.scores = [rec];
      else ctx.scores.push(rec);
    }
    const trace = ctx.trace;
    if (trace) {
      const top = model.explain(this.norm, 5).top;
      const pushes = top.map((t) => `${JSON.stringify(t.ngram)} ${t.push >= 0 ? '+' : ''}${t.push.toFixed(2)}`).join(', ');
      trace.push(`score ${name}: ${p.toFixed(4)}; n-grams that pushed it most: ${pushes || '(none)'}`);
    }
    return p;
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
