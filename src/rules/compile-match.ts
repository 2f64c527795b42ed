/**
 * Compiles a rule's `match` into one condition: every key becomes a function of the message's
 * Facts, cheapest first; lists and templates are read and indexed, regular expressions compiled
 * with RE2 (linear time; lookaround and backreferences are refused with the regex's position).
 */
import RE2 from 're2';
import { parseDuration } from '../domain/time.js';
import { compileBehaviour, type BehaviourRule } from './behaviour.js';
import { tlvText } from '../protocol/text.js';
import { err, type Part, type Scope } from './compile-scope.js';
import type { Cond, Facts } from './facts.js';
import { DomainSet, KeywordSet, normaliseDomain } from './lists.js';
import { foldChars } from './normalise.js';
import type { RateRule } from './rate-plan.js';
import { complainedCond, describeMark, markOf, reputationHit, type CampaignKind, type CampaignRule } from './campaign.js';
import type { MatchSpec, YamlPath } from './schema.js';
import type { TemplateType } from './templates.js';
import { CALLING_CODES, withinHours, nextOpening, parseHours } from './hours.js';
import { minuteOfDay } from '../domain/time.js';
// ---- conditions ----------------------------------------------------------------------------------

const ALWAYS: Cond = () => true;

/**
 * A condition that reads nothing but the message text (normalised forms, domains, signature): its
 * result is kept with the text's facts, so it runs once per distinct text, not per rule walk.
 */
function textOnly(c: Cond): Cond {
  return (f) => f.text.test(c, f);
}

/** Registered signatures folded like the text's signature, kept per signatures array. */
const foldedSignatures = new WeakMap<readonly string[], { src: string[]; folded: string[] }>();

function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function foldedSignaturesOf(registered: readonly string[]): readonly string[] {
  const hit = foldedSignatures.get(registered);
  if (hit !== undefined && sameStrings(hit.src, registered)) return hit.folded;
  const folded = registered.map((r) => foldChars(r).trim());
  foldedSignatures.set(registered, { src: [...registered], folded });
  return folded;
}

function combine(parts: Part[]): Cond {
  parts.sort((a, b) => a.cost - b.cost);
  const conds = parts.map((p) => p.cond);
  switch (conds.length) {
    case 0:
      return ALWAYS;
    case 1:
      return conds[0]!;
    case 2: {
      const [a, b] = conds as [Cond, Cond];
      return (f) => a(f) && b(f);
    }
    default:
      return (f) => {
        for (const c of conds) if (!c(f)) return false;
        return true;
      };
  }
}

export interface TopMatch {
  /** The rule's traffic-intelligence keys at the top level (metrics). */
  intelKeys: string[];
  cond: Cond;
  rate: RateRule | null;
  campaign: CampaignRule | null;
  /** What the top-level campaign/content keys found, for explain and the audit line (null: nothing). */
  evidence: ((f: Facts) => string | null) | null;
  hasTime: boolean;
  behaviour: BehaviourRule | null;
}

export function compileTop(s: Scope, m: MatchSpec, path: YamlPath): TopMatch {
  let rate: RateRule | null = null;
  if (m.rate) {
    const r = m.rate;
    rate = { per: r.per, periodMs: parseDuration(r.window)!, max: r.max, distinct: r.distinct === 'recipient' };
  }
  // A rule reads one counter: a rate or a behaviour profile value, not both.
  if (m.rate && m.behaviour) err(s, [...path, 'behaviour'], 'a rule has either rate or behaviour (put the other in a rule of its own)');
  const behaviour = m.behaviour ? compileBehaviour(m.behaviour) : null;
  const parts = compileParts(s, m, path, true);
  const intelKeys = [...new Set(intelKeysOf(m))];
  return { cond: combine(parts), rate, campaign: campaignRule(m), evidence: evidenceOf(m), intelKeys, hasTime: m.time !== undefined, behaviour };
}

// ---- campaign and content (campaign.ts) ----------------------------------------------------------

function campaignRule(m: MatchSpec): CampaignRule | null {
  const c = m.campaign;
  if (!c) return null;
  const limits: { kind: CampaignKind; max: number }[] = [];
  if (c.senders_over !== undefined) limits.push({ kind: 'senders', max: c.senders_over });
  if (c.accounts_over !== undefined) limits.push({ kind: 'accounts', max: c.accounts_over });
  if (c.recipients_over !== undefined) limits.push({ kind: 'recipients', max: c.recipients_over });
  return limits.length === 0 ? null : { periodMs: parseDuration(c.window)!, near: c.near, limits };
}

/** The campaign/content keys of a match, its any/all branches included (not under not). */
function intelKeysOf(m: MatchSpec): string[] {
  const out: string[] = [];
  for (const k of ['senders_over', 'accounts_over', 'recipients_over', 'complained'] as const) if (m.campaign?.[k] !== undefined) out.push(`campaign.${k}`);
  for (const k of ['numbers_in', 'domains_in'] as const) if (m.content?.[k] !== undefined) out.push(`content.${k}`);
  for (const sub of [...(m.any ?? []), ...(m.all ?? [])]) out.push(...intelKeysOf(sub));
  return out;
}

/** What the campaign/content keys found, its any/all branches included. */
function evidenceOf(m: MatchSpec): ((f: Facts) => string | null) | null {
  const own = ownEvidenceOf(m);
  const subs = [...(m.any ?? []), ...(m.all ?? [])].map(evidenceOf).filter((e): e is (f: Facts) => string | null => e !== null);
  if (subs.length === 0) return own;
  const all = own ? [own, ...subs] : subs;
  return (f) => {
    const out: string[] = [];
    for (const e of all) {
      const x = e(f);
      if (x !== null && !out.includes(x)) out.push(x);
    }
    return out.length > 0 ? out.join('; ') : null;
  };
}

function ownEvidenceOf(m: MatchSpec): ((f: Facts) => string | null) | null {
  const c = m.campaign;
  const t = m.content;
  const complained = c?.complained === true ? c.near : null;
  if (complained === null && !t) return null;
  return (f) => {
    const out: string[] = [];
    if (complained !== null) {
      const mark = markOf(f, complained);
      if (mark) out.push(describeMark(mark));
    }
    if (t?.numbers_in) {
      const hit = reputationHit(f, 'number', t.numbers_in);
      if (hit) out.push(`number in ${hit}`);
    }
    if (t?.domains_in) {
      const hit = reputationHit(f, 'domain', t.domains_in);
      if (hit) out.push(`domain in ${hit}`);
    }
    return out.length > 0 ? out.join('; ') : null;
  };
}

function compileMatch(s: Scope, m: MatchSpec, path: YamlPath): Part {
  const parts = compileParts(s, m, path, false);
  return { cond: combine(parts), cost: parts.reduce((c, p) => Math.max(c, p.cost), 0) };
}

function compileParts(s: Scope, m: MatchSpec, path: YamlPath, top: boolean): Part[] {
  const parts: Part[] = [];
  const add = (cost: number, cond: Cond | null) => {
    if (cond) parts.push({ cond, cost });
  };
  const at = (key: string): YamlPath => [...path, key];

  if (m.account) {
    const set = new Set(m.account);
    add(0, (f) => set.has(f.ctx.account));
  }
  if (m.sender) add(0, senderCond(m.sender));
  if (m.sender_class) {
    const set = new Set(m.sender_class);
    add(0, (f) => f.ctx.senderClass !== null && set.has(f.ctx.senderClass));
  }
  if (m.destination_prefix) add(0, prefixCond(m.destination_prefix.map((p) => p.replace(/^\+/, ''))));
  if (m.destination_country) {
    const prefixes: string[] = [];
    m.destination_country.forEach((c, i) => {
      const codes = CALLING_CODES[c];
      if (!codes) err(s, [...at('destination_country'), i], `unknown country ${c} (known: ${Object.keys(CALLING_CODES).join(' ')})`);
      else prefixes.push(...codes);
    });
    add(0, prefixCond(prefixes));
  }
  if (m.service_type) {
    const set = new Set(m.service_type);
    add(0, (f) => set.has(f.ctx.serviceType));
  }
  if (m.data_coding) {
    const set = new Set(m.data_coding);
    add(0, (f) => set.has(f.ctx.dataCoding));
  }
  if (m.class) {
    const set = new Set(m.class);
    add(0, (f) => f.state.class !== null && set.has(f.state.class));
  }
  if (m.category) {
    const set = new Set(m.category);
    add(0, (f) => f.state.category !== null && set.has(f.state.category));
  }
  if (m.label) {
    const set = new Set(m.label);
    add(0, (f) => f.state.labels.some((l) => set.has(l)));
  }
  if (m.tlv) {
    const { tag, present, equals } = m.tlv;
    if (equals !== undefined) {
      add(1, (f) => {
        const v = f.ctx.tlv(tag);
        return v !== undefined && tlvText(v) === equals;
      });
    } else add(1, (f) => (f.ctx.tlv(tag) !== undefined) === present);
  }
  if (m.time) add(2, timeCond(s, m.time));
  if (m.signature) {
    const want = m.signature;
    if (want === 'present') add(2, textOnly((f) => f.signature !== null));
    else if (want === 'absent') add(2, textOnly((f) => f.signature === null));
    else
      add(2, (f) => {
        const sig = f.signature;
        if (sig === null) return false;
        const registered = f.ctx.sender?.signatures;
        if (registered === undefined || registered.length === 0) return true;
        for (const r of foldedSignaturesOf(registered)) if (r === sig) return false;
        return true;
      });
  }
  if (m.opt_out_hint) {
    const hints = s.optOut;
    const present = m.opt_out_hint === 'present';
    add(3, textOnly((f) => hints.any(f.norm) === present));
  }
  if (m.text) for (const p of textParts(s, m.text, at('text'))) parts.push(p);
  if (m.urls) for (const p of urlParts(s, m.urls, at('urls'))) parts.push(p);
  if (m.template) add(4, templateCond(s, m.template, at('template')));
  if (m.score) add(5, scoreCond(s, m.score, at('score')));
  if (m.rate && !top) err(s, at('rate'), 'rate is only allowed at the top level of a rule match (not inside any, all or not)');
  if (m.campaign) {
    const c = m.campaign;
    const counted = c.senders_over !== undefined || c.accounts_over !== undefined || c.recipients_over !== undefined;
    if (counted && !top) {
      err(s, at('campaign'), 'campaign counts (senders_over, accounts_over, recipients_over) are only allowed at the top level of a rule match (not inside any, all or not)');
    }
    // Marks change while the text does not: never kept with the text's facts.
    if (c.complained !== undefined) add(4, complainedCond(c.near, c.complained));
  }
  if (m.content) {
    const numbers = m.content.numbers_in;
    const domains = m.content.domains_in;
    if (numbers) add(4, (f) => reputationHit(f, 'number', numbers) !== null);
    if (domains) add(4, (f) => reputationHit(f, 'domain', domains) !== null);
  }
  if (m.behaviour && !top) err(s, at('behaviour'), 'behaviour is only allowed at the top level of a rule match (not inside any, all or not)');
  if (m.any) {
    const subs = m.any.map((x, i) => compileMatch(s, x, [...at('any'), i]));
    const conds = subs.map((p) => p.cond);
    add(Math.max(...subs.map((p) => p.cost)), (f) => {
      for (const c of conds) if (c(f)) return true;
      return false;
    });
  }
  if (m.all) {
    const subs = m.all.map((x, i) => compileMatch(s, x, [...at('all'), i]));
    add(Math.max(...subs.map((p) => p.cost)), combine(subs));
  }
  if (m.not) {
    const sub = compileMatch(s, m.not, at('not'));
    const c = sub.cond;
    add(sub.cost, (f) => !c(f));
  }
  return parts;
}

function senderCond(entries: string[]): Cond {
  const exact = new Set<string>();
  const prefixes: string[] = [];
  for (const e of entries) {
    const v = e.replace(/^\+/, '').toUpperCase();
    if (v.endsWith('*')) prefixes.push(v.slice(0, -1));
    else exact.add(v);
  }
  return (f) => {
    const v = f.ctx.src.value;
    if (exact.has(v)) return true;
    for (const p of prefixes) if (v.startsWith(p)) return true;
    return false;
  };
}

function prefixCond(prefixes: string[]): Cond {
  return (f) => {
    const d = f.ctx.dst;
    for (const p of prefixes) if (d.startsWith(p)) return true;
    return false;
  };
}

/** For `queue: until-window`: when the rule's time condition stops matching for a recipient. */
export function opensAt(s: Scope, t: NonNullable<MatchSpec['time']>): (dst: string, now: number) => number {
  const outside = t.outside !== undefined;
  const w = parseHours((t.outside ?? t.inside)!)!;
  const zones = s.zones;
  const fixed = t.tz === 'recipient' ? null : t.tz;
  return (dst, now) => nextOpening(fixed ?? zones.zoneOf(dst), now, w, outside);
}

function timeCond(s: Scope, t: NonNullable<MatchSpec['time']>): Cond {
  const outside = t.outside !== undefined;
  const w = parseHours((t.outside ?? t.inside)!)!;
  if (t.tz === 'recipient') {
    const zones = s.zones;
    return (f) => withinHours(minuteOfDay(zones.zoneOf(f.ctx.dst), f.ctx.now), w) !== outside;
  }
  const zone = t.tz;
  return (f) => withinHours(minuteOfDay(zone, f.ctx.now), w) !== outside;
}

// ---- text and lists ------------------------------------------------------------------------------

export function listWords(s: Scope, name: string, path: YamlPath): string[] | null {
  const entries = s.lists.get(name);
  if (!entries) {
    if (!(name in s.data.lists)) err(s, path, `unknown list ${name} (declare it under lists: in this file)`);
    return null;
  }
  return entries.map((e) => e.value);
}

export function keywords(s: Scope, words: string[], path: YamlPath): KeywordSet | null {
  const { set, empty } = KeywordSet.from(words);
  if (empty.length) {
    err(s, path, `keyword${empty.length > 1 ? 's' : ''} ${empty.map((w) => JSON.stringify(w)).join(', ')} normalise to nothing`);
    return null;
  }
  return set;
}

function listKeywords(s: Scope, names: string[], path: YamlPath): KeywordSet | null {
  const key = names.join('\u0001');
  const hit = s.keywordCache.get(key);
  if (hit) return hit;
  const words: string[] = [];
  for (const n of names) {
    const w = listWords(s, n, path);
    if (!w) return null;
    words.push(...w);
  }
  const set = keywords(s, words, path);
  if (set) s.keywordCache.set(key, set);
  return set;
}

function textParts(s: Scope, t: NonNullable<MatchSpec['text']>, path: YamlPath): Part[] {
  const parts: Part[] = [];
  if (t.contains_any) {
    const k = keywords(s, t.contains_any, [...path, 'contains_any']);
    if (k) parts.push({ cost: 3, cond: textOnly((f) => k.any(f.norm)) });
  }
  if (t.contains_all) {
    const k = keywords(s, t.contains_all, [...path, 'contains_all']);
    if (k) parts.push({ cost: 3, cond: textOnly((f) => k.all(f.norm)) });
  }
  if (t.list) {
    const k = listKeywords(s, t.list, [...path, 'list']);
    if (k) parts.push({ cost: 3, cond: textOnly((f) => k.any(f.norm)) });
  }
  if (t.regex !== undefined) {
    const re = compileRegex(s, t.regex, t.flags ?? '', [...path, 'regex']);
    if (re) {
      const onNorm = t.normalised === true;
      parts.push({ cost: 3, cond: textOnly(onNorm ? (f) => re.test(f.norm.plain) : (f) => re.test(f.text.text)) });
    }
  } else if (t.flags !== undefined || t.normalised !== undefined) {
    err(s, path, 'flags and normalised apply to regex, and no regex is given');
  }
  return parts;
}

/** RE2 only: linear time whatever the text. Constructs it cannot run that way are load errors. */
export function compileRegex(s: Scope | null, source: string, flags: string, path: YamlPath): RE2 | null {
  try {
    return new RE2(source, flags);
  } catch (e) {
    const why = (e as Error).message;
    if (s) {
      err(
        s,
        path,
        `not a valid RE2 regular expression (${why}); RE2 runs in linear time and has no lookahead, lookbehind or backreferences`,
      );
    }
    return null;
  }
}

function domainSet(s: Scope, ref: string | string[], path: YamlPath): DomainSet | null {
  if (typeof ref === 'string') {
    const cached = s.domainCache.get(ref);
    if (cached) return cached;
    const entries = s.lists.get(ref);
    if (!entries) {
      if (!(ref in s.data.lists)) err(s, path, `unknown list ${ref} (declare it under lists: in this file)`);
      return null;
    }
    const file = s.listFiles.get(ref)!;
    const out: string[] = [];
    let bad = false;
    for (const e of entries) {
      const d = normaliseDomain(e.value);
      if (d === null) {
        s.errors.push(`${file}:${e.line}:1: ${JSON.stringify(e.value)} is not a domain`);
        bad = true;
      } else out.push(d);
    }
    if (bad) return null;
    const set = new DomainSet(out);
    s.domainCache.set(ref, set);
    return set;
  }
  const out: string[] = [];
  ref.forEach((v, i) => {
    const d = normaliseDomain(v);
    if (d === null) err(s, [...path, i], `${JSON.stringify(v)} is not a domain`);
    else out.push(d);
  });
  return out.length === ref.length ? new DomainSet(out) : null;
}

function urlParts(s: Scope, u: NonNullable<MatchSpec['urls']>, path: YamlPath): Part[] {
  const parts: Part[] = [];
  if (u.present !== undefined) {
    const want = u.present;
    parts.push({ cost: 3, cond: textOnly((f) => f.domains.length > 0 === want) });
  }
  if (u.domains_in !== undefined) {
    const set = domainSet(s, u.domains_in, [...path, 'domains_in']);
    if (set) parts.push({ cost: 3, cond: textOnly((f) => f.text.domainCandidates.some((d) => set.has(d))) });
  }
  if (u.domains_not_in !== undefined) {
    const set = domainSet(s, u.domains_not_in, [...path, 'domains_not_in']);
    if (set) parts.push({ cost: 3, cond: textOnly((f) => f.domains.some((d) => !set.has(d))) });
  }
  return parts;
}

function templateCond(s: Scope, t: NonNullable<MatchSpec['template']>, path: YamlPath): Cond | null {
  const idx = s.templates.get(t.list);
  if (!idx) {
    if (!(t.list in s.data.templates)) err(s, [...path, 'list'], `unknown template list ${t.list} (declare it under templates: in this file)`);
    return null;
  }
  const types: ReadonlySet<TemplateType> | null = t.types ? new Set(t.types) : null;
  const tag = t.tlv;
  const want = t.matches;
  return (f: Facts) => {
    let id: string | null = null;
    if (tag !== null) {
      const v = f.ctx.tlv(tag);
      if (v !== undefined) id = tlvText(v).trim();
    }
    return (idx.match(f.ctx.text, f.ctx.src.value, id, types) !== null) === want;
  };
}

// ---- learned score -------------------------------------------------------------------------------

/**
 * `score: {model, above}`: the model's spam probability of the normalised text is above `above`.
 * The most expensive condition (cost 5), so a rule's cheaper conditions decide first and the model
 * runs only for messages they let through; scored at most once per message (Facts.scoreOf). The
 * model is looked up per message: a reloaded model applies from the next message on.
 */
function scoreCond(s: Scope, spec: NonNullable<MatchSpec['score']>, path: YamlPath): Cond | null {
  const models = s.opts.models;
  const name = spec.model;
  if (models && !models.has(name)) {
    err(s, [...path, 'model'], `unknown model ${name} (declare it under models: in the gateway configuration)`);
    return null;
  }
  const above = spec.above;
  return (f) => {
    const model = models?.get(name) ?? null;
    if (model === null) {
      f.ctx.trace?.push(`score ${name}: model not loaded; the condition does not hold`);
      return false;
    }
    return f.scoreOf(name, model) > above;
  };
}
