/**
 * Compiles validated rule files into closures: every match key becomes a function of the message's
 * Facts, lists and templates are read and indexed, regular expressions are compiled with RE2
 * (linear time; constructs RE2 cannot run in linear time — lookaround, backreferences — are refused
 * here with the position of the regex). No YAML is interpreted after this.
 */
import { dirname, isAbsolute, join, resolve } from 'node:path';
import RE2 from 're2';
import { tlvText } from '../protocol/text.js';
import { Status, type StatusName } from '../protocol/status.js';
import { Facts, Hit, RuleCounts, type CompiledRule, type Cond, type RateRule } from './engine.js';
import { DomainSet, KeywordSet, normaliseDomain, parseListFile, type ListEntry } from './lists.js';
import { foldChars } from './normalise.js';
import { pathText, type Located, type MatchSpec, type RuleFile, type YamlPath } from './schema.js';
import { TemplateIndex, parseTemplates, type TemplateType } from './templates.js';
import type { RuleAction } from './types.js';
import { CALLING_CODES, ZoneTable, insideWindow, minuteOfDay, nextOpening, parseDayWindow } from './windows.js';
import { parseDuration } from '../domain/time.js';

/** Why a `queue` action is refused when the gateway runs without its queue (queue.enabled: false). */
export const QUEUE_REFUSED =
  'queue actions need the message queue, which this gateway runs without (queue.enabled: false in its config). ' +
  'Enable it, or use {reject: {status: …, reason: …}}';

/** Opt-out hints recognised when a rule file names none (matched on normalised text). */
export const DEFAULT_OPT_OUT_HINTS: readonly string[] = [
  '回T退订',
  '回TD退订',
  '回N退订',
  '回R退订',
  '回复T退订',
  '回复TD退订',
  '回复N退订',
  '回复R退订',
  '退订回T',
  '退订回TD',
  '退订回N',
  '拒收请回复R',
  '拒收回R',
  '回R拒收',
  '回复R拒收',
  '退订请回复',
  'reply STOP',
  'text STOP',
  'txt STOP',
  'send STOP',
  'STOP to opt out',
  'STOP to unsubscribe',
  'STOP to end',
  'to opt out',
  'to unsubscribe',
];

export interface CompileOptions {
  /** Reads a list or template file (absolute path). */
  read(path: string): string;
  allowQueue: boolean;
  counts: RuleCounts;
}

/** What compiling one file needs and collects. */
interface Scope {
  loc: Located;
  data: RuleFile;
  dir: string;
  opts: CompileOptions;
  errors: string[];
  /** Files read for this rule file (for the version hash and the watcher). */
  deps: string[];
  lists: Map<string, ListEntry[]>;
  listFiles: Map<string, string>;
  keywordCache: Map<string, KeywordSet>;
  domainCache: Map<string, DomainSet>;
  templates: Map<string, TemplateIndex>;
  zones: ZoneTable;
  optOut: KeywordSet;
}

interface Part {
  cond: Cond;
  cost: number;
}

export interface FileResult {
  rules: CompiledRule[];
  /** Absolute paths of the list and template files read. */
  deps: string[];
}

function err(s: Scope, path: YamlPath, msg: string, key?: string): void {
  s.errors.push(`${s.loc.at(path, key)}: ${pathText(key === undefined ? path : [...path, key])}: ${msg}`);
}

/** Reads a list or template file; `file` is absolute, `shown` as the rule file names it (for errors). */
function readDep(s: Scope, rel: string, path: YamlPath): { file: string; shown: string; text: string } | null {
  const file = isAbsolute(rel) ? rel : resolve(s.dir, rel);
  const shown = isAbsolute(rel) ? rel : join(dirname(s.loc.file), rel);
  try {
    const text = s.opts.read(file);
    s.deps.push(file);
    return { file, shown, text };
  } catch (e) {
    err(s, path, `cannot read ${rel}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    return null;
  }
}

/** Compiles one validated rule file; problems go to `errors` as file:line:col lines. */
export function compileFile(loc: Located, data: RuleFile, opts: CompileOptions, errors: string[], seenIds: Map<string, string>): FileResult {
  const s: Scope = {
    loc,
    data,
    dir: dirname(resolve(loc.file)),
    opts,
    errors,
    deps: [],
    lists: new Map(),
    listFiles: new Map(),
    keywordCache: new Map(),
    domainCache: new Map(),
    templates: new Map(),
    zones: new ZoneTable(data.zones, data.default_zone),
    optOut: KeywordSet.from(DEFAULT_OPT_OUT_HINTS).set,
  };
  for (const [name, rel] of Object.entries(data.lists)) {
    const got = readDep(s, rel, ['lists', name]);
    if (got) {
      s.lists.set(name, parseListFile(got.text));
      s.listFiles.set(name, got.shown);
    }
  }
  for (const [name, rel] of Object.entries(data.templates)) {
    const got = readDep(s, rel, ['templates', name]);
    if (!got) continue;
    const parsed = parseTemplates(got.text, got.shown);
    errors.push(...parsed.errors);
    s.templates.set(name, new TemplateIndex(parsed.templates));
  }
  if (data.opt_out_hints !== undefined) {
    const words = typeof data.opt_out_hints === 'string' ? listWords(s, data.opt_out_hints, ['opt_out_hints']) : data.opt_out_hints;
    if (words) s.optOut = keywords(s, words, ['opt_out_hints']) ?? s.optOut;
  }

  const rules: CompiledRule[] = [];
  data.rules.forEach((r, i) => {
    const path = ['rules', i];
    const where = loc.at(path);
    const first = seenIds.get(r.id);
    if (first) err(s, [...path, 'id'], `rule id ${r.id} is already used at ${first}`);
    else seenIds.set(r.id, where);
    const before = errors.length;
    const action = compileAction(s, r.action, [...path, 'action']);
    const { cond, rate, hasTime } = compileTop(s, r.match, [...path, 'match']);
    if (action?.kind === 'queue' && action.queue === 'until-window' && !hasTime) {
      err(s, [...path, 'action', 'queue'], 'queue: until-window needs a time condition in the same rule (which window to wait for)');
    }
    if (errors.length > before || !action) return;
    if (action.kind === 'queue' && action.queue === 'until-window') action.opensAt = opensAt(s, r.match.time!);
    const slot = opts.counts.slot(r.id, action.kind, r.mode);
    rules.push({ id: r.id, where, mode: r.mode, action, hit: new Hit(r.id, action, r.mode, slot), cond, rate });
  });
  return { rules, deps: s.deps };
}

// ---- actions -------------------------------------------------------------------------------------

const DELIVER_ONLY = new Set<number>([Status.ESME_RX_T_APPN, Status.ESME_RX_P_APPN, Status.ESME_RX_R_APPN]);
const KNOWN = new Set<number>(Object.values(Status));

/** A reject status: a number, "0x…", a spec name (ESME_RSUBMITFAIL) or VENDOR_0x4xx. */
export function resolveStatus(v: number | string): number | string {
  let code: number;
  if (typeof v === 'number') code = v;
  else if (/^(VENDOR_)?0x[0-9a-f]+$/i.test(v)) code = Number.parseInt(v.replace(/^VENDOR_/i, ''), 16);
  else if (v in Status) code = Status[v as StatusName];
  else return `unknown status ${v} (a name such as ESME_RSUBMITFAIL, or a number)`;
  if (code === 0) return 'status 0 (ESME_ROK) is not a rejection';
  if (DELIVER_ONLY.has(code)) return `status 0x${code.toString(16)} is for deliver_sm_resp only, never submit_sm_resp`;
  if (!KNOWN.has(code) && !(code >= 0x400 && code <= 0x4ff)) {
    return `status 0x${code.toString(16)} is neither an SMPP status nor vendor-specific (0x400–0x4FF)`;
  }
  return code;
}

function compileAction(s: Scope, a: import('./schema.js').ActionSpec, path: YamlPath): RuleAction | null {
  if (a.forward) return { kind: 'forward' };
  if (a.reject) {
    const st = resolveStatus(a.reject.status);
    if (typeof st === 'string') {
      err(s, [...path, 'reject', 'status'], st);
      return null;
    }
    return { kind: 'reject', status: st, reason: a.reject.reason };
  }
  if (a.queue) {
    if (!s.opts.allowQueue) {
      err(s, [...path, 'queue'], QUEUE_REFUSED);
      return null;
    }
    return { kind: 'queue', queue: a.queue };
  }
  const t = a.tag!;
  const out: RuleAction = { kind: 'tag' };
  if (t.class) out.class = t.class;
  if (t.category) out.category = t.category;
  if (t.label) out.label = t.label;
  return out;
}

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

function compileTop(s: Scope, m: MatchSpec, path: YamlPath): { cond: Cond; rate: RateRule | null; hasTime: boolean } {
  let rate: RateRule | null = null;
  if (m.rate) {
    const r = m.rate;
    rate = { per: r.per, windowMs: parseDuration(r.window)!, max: r.max, distinct: r.distinct === 'recipient' };
  }
  const parts = compileParts(s, m, path, true);
  return { cond: combine(parts), rate, hasTime: m.time !== undefined };
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
  if (m.rate && !top) err(s, at('rate'), 'rate is only allowed at the top level of a rule match (not inside any, all or not)');
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
function opensAt(s: Scope, t: NonNullable<MatchSpec['time']>): (dst: string, now: number) => number {
  const outside = t.outside !== undefined;
  const w = parseDayWindow((t.outside ?? t.inside)!)!;
  const zones = s.zones;
  const fixed = t.tz === 'recipient' ? null : t.tz;
  return (dst, now) => nextOpening(fixed ?? zones.zoneOf(dst), now, w, outside);
}

function timeCond(s: Scope, t: NonNullable<MatchSpec['time']>): Cond {
  const outside = t.outside !== undefined;
  const w = parseDayWindow((t.outside ?? t.inside)!)!;
  if (t.tz === 'recipient') {
    const zones = s.zones;
    return (f) => insideWindow(minuteOfDay(zones.zoneOf(f.ctx.dst), f.ctx.now), w) !== outside;
  }
  const zone = t.tz;
  return (f) => insideWindow(minuteOfDay(zone, f.ctx.now), w) !== outside;
}

// ---- text and lists ------------------------------------------------------------------------------

function listWords(s: Scope, name: string, path: YamlPath): string[] | null {
  const entries = s.lists.get(name);
  if (!entries) {
    if (!(name in s.data.lists)) err(s, path, `unknown list ${name} (declare it under lists: in this file)`);
    return null;
  }
  return entries.map((e) => e.value);
}

function keywords(s: Scope, words: string[], path: YamlPath): KeywordSet | null {
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
    if (set) parts.push({ cost: 3, cond: textOnly((f) => f.domains.some((d) => set.has(d))) });
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
