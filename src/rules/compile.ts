/**
 * Compiles one validated rule file into closures: its lists, templates, time zones and opt-out
 * hints, then per rule its action (statuses resolved) and its match (compile-match.ts). No YAML is
 * interpreted after this.
 */
import { dirname, resolve } from 'node:path';
import { Status, type StatusName } from '../protocol/status.js';
import { compileTop, keywords, listWords, opensAt } from './compile-match.js';
import { err, readDep, type CompileOptions, type Scope } from './compile-scope.js';
import { Hit } from './counts.js';
import { type CompiledRule } from './engine.js';
import { KeywordSet, parseListFile } from './lists.js';
import type { Located, RuleFile, YamlPath } from './schema.js';
import { TemplateIndex, parseTemplates } from './templates.js';
import type { RuleAction } from './types.js';
import { ZoneTable } from './hours.js';

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

export interface FileResult {
  rules: CompiledRule[];
  /** Absolute paths of the list and template files read. */
  deps: string[];
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
    const { cond, rate, campaign, evidence, intelKeys, hasTime, behaviour } = compileTop(s, r.match, [...path, 'match']);
    if (action?.kind === 'queue' && action.queue === 'until-window' && !hasTime) {
      err(s, [...path, 'action', 'queue'], 'queue: until-window needs a time condition in the same rule (which window to wait for)');
    }
    if (errors.length > before || !action) return;
    if (action.kind === 'queue' && action.queue === 'until-window') action.opensAt = opensAt(s, r.match.time!);
    const slot = opts.counts.slot(r.id, action.kind, r.mode);
    rules.push({ id: r.id, where, mode: r.mode, action, hit: new Hit(r.id, action, r.mode, slot, intelKeys), cond, rate, campaign, evidence, intelKeys, behaviour });
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
  if (a.suspend) {
    const st = resolveStatus(a.suspend.status);
    if (typeof st === 'string') {
      err(s, [...path, 'suspend', 'status'], st);
      return null;
    }
    return { kind: 'suspend', status: st, reason: a.suspend.reason };
  }
  const t = a.tag!;
  const out: RuleAction = { kind: 'tag' };
  if (t.class) out.class = t.class;
  if (t.category) out.category = t.category;
  if (t.label) out.label = t.label;
  return out;
}

