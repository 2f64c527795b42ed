/**
 * Rule tests, in the manner of `promtool test rules`: a CASES.yaml file declares its fixture data —
 * sender registrations, account default classes, consent records and the DND register — and sample
 * messages with the outcome each must get. Every case runs the full decision (sender authorization →
 * rules → classification → consent/DND, driver.ts) against an in-memory store: no Redis.
 * The runner also reports the rules no case touched.
 */
import { readFileSync } from 'node:fs';
import { normaliseAddress } from '../policy/address.js';
import { type NormalAddress, type Numbering } from '../domain/address.js';
import { compileClassifier } from '../policy/classify.js';
import type { StoreFacts, StoreQuery } from '../domain/store-facts.js';
import { SenderRegistry } from '../policy/senders.js';
import { senderId, senderProblems, type SenderClass, type SenderRecord } from '../domain/sender.js';
import type { MessageView } from '../protocol/message-view.js';
import { Status, type StatusName } from '../protocol/status.js';
import type { RuleSet } from '../rules/engine.js';
import { runDecision, type DecisionOutcome, type DecisionStore } from './driver.js';
import { TestFileSchema, parseYaml, type Located, type TestCase, type TestFile } from '../rules/schema.js';
import type { RuleContext } from '../rules/types.js';
import { packBaseline, packReceipts } from '../domain/behaviour.js';
import type { RateNeed } from '../domain/store-facts.js';
import { IntelIndex, normaliseNumber, type ReputationKind } from '../domain/intel.js';
import { fingerprintOf } from '../rules/fingerprint.js';
import { normaliseDomain } from '../rules/lists.js';
import { foldChars } from '../rules/normalise.js';

type ConsentFact = TestFile['consent'][number];
type DndFact = TestFile['dnd'][number];

/** Consent and DND facts in memory, answering the store's per-message query. */
export class MemoryFacts {
  private readonly consent = new Map<string, string>();
  private readonly dnd = new Map<string, Set<number>>();

  constructor(consent: readonly ConsentFact[], dnd: readonly DndFact[], n: Numbering) {
    for (const c of consent) {
      const msisdn = number(c.msisdn, n);
      const exp = c.expires ? `:${Date.parse(c.expires)}` : '';
      this.consent.set(`${msisdn}|${c.scope}`, c.state === 'granted' ? `g:0${exp}` : 'r:0');
    }
    for (const d of dnd) {
      const msisdn = number(d.msisdn, n);
      let s = this.dnd.get(msisdn);
      if (!s) this.dnd.set(msisdn, (s = new Set()));
      s.add(d.category ?? 0);
    }
  }

  facts(q: StoreQuery): StoreFacts {
    const cats = this.dnd.get(q.msisdn);
    return {
      dnd: cats?.has(0) ?? false,
      dndCategory: q.category !== null && (cats?.has(q.category) ?? false),
      consent: q.scopes.map((s) => this.consent.get(`${q.msisdn}|${s}`) ?? null),
    };
  }
}

function number(raw: string, n: Numbering): string {
  const a = normaliseAddress(raw, 0, n);
  return a.value;
}

export interface CaseResult {
  file: string;
  name: string;
  /** file:line:col of the case. */
  where: string;
  pass: boolean;
  /** What differed ("action: want reject, got forward"), or why the case could not run. */
  diffs: string[];
  got: DecisionOutcome | null;
}

export interface TestReport {
  results: CaseResult[];
  passed: number;
  failed: number;
  /** Rule ids no case matched (tags and monitor hits count as touched). */
  untested: string[];
  /** Case files that could not be read or validated. */
  errors: string[];
}

function expectedStatus(v: number | string): number | null {
  if (typeof v === 'number') return v;
  if (/^(VENDOR_)?0x[0-9a-f]+$/i.test(v)) return Number.parseInt(v.replace(/^VENDOR_/i, ''), 16);
  return v in Status ? Status[v as StatusName] : null;
}

function parseTag(k: string): number {
  return k.startsWith('0x') || k.startsWith('0X') ? Number.parseInt(k.slice(2), 16) : Number(k);
}

/** Runs one case file's cases against a rule set. */
export function runCaseFile(set: RuleSet, file: string, source: string): { results: CaseResult[]; touched: Set<string>; errors: string[] } {
  const touched = new Set<string>();
  const parsed = parseYaml(source, file, TestFileSchema);
  if (!parsed.ok) return { results: [], touched, errors: parsed.errors };
  const tf = parsed.data;
  const loc = parsed.loc;
  const errors: string[] = [];
  const n: Numbering = tf.numbering;
  const registry = new SenderRegistry();
  tf.senders.forEach((s, i) => {
    const rec: SenderRecord = { ...s, id: senderId(s.kind, s.value) } as SenderRecord;
    const problems = senderProblems(rec);
    for (const p of problems) errors.push(`${loc.at(['senders', i])}: senders[${i}]: ${p}`);
    registry.upsert(rec);
  });
  if (errors.length) return { results: [], touched, errors };
  const accountClass = new Map<string, SenderClass>(tf.accounts.map((a) => [a.system_id, a.default_class]));
  const classifier = compileClassifier(tf.classify);
  const baseFacts = new MemoryFacts(tf.consent, tf.dnd, n);
  const intel = fileIntel(tf);

  const results = tf.cases.map((c, i) => {
    const r = runCase(set, c, i, { file_: intel, loc, n, registry, accountClass, classifier, baseFacts, file });
    for (const h of r.got?.hits ?? []) touched.add(h.rule);
    return r;
  });
  return { results, touched, errors };
}

/** The case's marks and reputation sets: the file's fixtures, plus the case's own complained texts. */
function intelOf(f: FileIntel, complained: readonly string[] | undefined): IntelIndex {
  if (!complained || complained.length === 0) return f.index;
  const index = new IntelIndex();
  for (const [kind, name, entry] of f.entries) index.addEntry(kind, name, entry);
  for (const t of [...f.complained, ...complained]) markText(index, t);
  return index;
}

/** Marks a complained text's fingerprint and bands, as a complaint does (intel/feedback). */
function markText(index: IntelIndex, text: string): void {
  const fp = fingerprintOf(foldChars(text));
  for (const key of [fp.id, ...fp.bands]) index.putMark({ key, verdict: 'complained', count: 1, expires: Infinity, source: 'case file' });
}

interface FileIntel {
  index: IntelIndex;
  entries: [ReputationKind, string, string][];
  complained: string[];
}

function fileIntel(tf: TestFile): FileIntel {
  const index = new IntelIndex();
  const entries: [ReputationKind, string, string][] = [];
  for (const [name, values] of Object.entries(tf.reputation)) {
    for (const v of values) {
      // A set holds numbers and domains alike: each value goes where its form says.
      const d = normaliseDomain(v);
      const n = normaliseNumber(v);
      if (d !== null && !/^[\d.+ -]+$/.test(v)) entries.push(['domain', name, d]);
      else if (n !== null) entries.push(['number', name, n]);
    }
  }
  for (const [kind, name, entry] of entries) index.addEntry(kind, name, entry);
  for (const t of tf.complained) markText(index, t);
  return { index, entries, complained: tf.complained };
}

interface CaseEnv {
  file_: FileIntel;
  loc: Located;
  file: string;
  n: Numbering;
  registry: SenderRegistry;
  accountClass: Map<string, SenderClass>;
  classifier: ReturnType<typeof compileClassifier>;
  baseFacts: MemoryFacts;
}

/** A behaviour profile need's value from the case's `profile` (0 for anything else). */
function profileValue(c: TestCase, nd: RateNeed): number {
  const p = c.profile;
  if (!p || !nd.entity?.startsWith('bhv:')) return 0;
  switch (nd.kind) {
    case 'distinct':
      return p.distinct_recipients ?? 0;
    case 'sequence':
      return p.sequential_run ?? 0;
    case 'receipts':
      return packReceipts(p.receipts ?? 0, p.undeliverable ?? 0);
    case 'baseline':
      return packBaseline(p.hour_count ?? 0, p.baseline ?? null);
    default:
      return 0;
  }
}

function runCase(set: RuleSet, c: TestCase, i: number, env: CaseEnv): CaseResult {
  const where = env.loc.at(['cases', i]);
  const base = { file: env.file, name: c.name, where };
  const src = normaliseAddress(c.sender, c.sender_ton ?? (/[A-Za-z]/.test(c.sender) ? 5 : 0), env.n);
  const dst: NormalAddress = normaliseAddress(c.recipient, 0, env.n);
  const sender = src.kind === 'number' || src.kind === 'alpha' ? env.registry.find(src) : null;
  const accountClass = env.accountClass.get(c.account) ?? 'commercial';
  const tlvs = new Map<number, Buffer>(Object.entries(c.tlvs).map(([k, v]) => [parseTag(k), Buffer.from(v, 'latin1')]));
  const view = { serviceType: c.service_type, tlv: (t: number) => tlvs.get(t) } as unknown as MessageView;
  const messageClass = c.class ?? env.classifier.messageClass(view);
  const category = c.category ?? env.classifier.category(view);
  const ctx: RuleContext = {
    account: c.account,
    src,
    sender,
    senderClass: sender ? (sender.class ?? accountClass) : null,
    dst: dst.value,
    serviceType: c.service_type,
    dataCoding: c.data_coding,
    esmClass: c.esm_class,
    tlv: (t) => tlvs.get(t),
    text: c.text,
    now: Date.parse(c.time),
    intel: intelOf(env.file_, c.complained),
  };

  // Counters: the value each named rule's rate reads for this message.
  const initial = { class: messageClass ?? (sender?.class ?? accountClass), category, labels: [] };
  const counters = new Map<string, number>();
  const problems: string[] = [];
  for (const [ruleId, value] of Object.entries(c.counters)) {
    if (!set.rule(ruleId)) {
      problems.push(`${env.loc.at(['cases', i, 'counters'], ruleId)}: counters: no rule ${ruleId}`);
      continue;
    }
    const need = set.rateNeedOf(ruleId, ctx, initial);
    const campaign = set.campaignNeedsOf(ruleId, ctx, initial);
    if (need) counters.set(need.key, value);
    for (const nd of campaign ?? []) counters.set(nd.key, value);
    if (!need && !campaign) problems.push(`${env.loc.at(['cases', i, 'counters'], ruleId)}: counters: rule ${ruleId} has no rate or campaign counts`);
  }
  if (problems.length) return { ...base, pass: false, diffs: problems, got: null };

  const facts = c.consent || c.dnd ? new MemoryFacts(c.consent ?? [], c.dnd ?? [], env.n) : env.baseFacts;
  // The driver's store, answering at once from memory: counters as the case sets them, consent/DND from the fixtures.
  const store: DecisionStore = {
    fetchThen: (req, to) =>
      to.answer(null, req.query ? facts.facts(req.query) : null, new Map(req.needs.map((nd: RateNeed) => [nd.key, counters.get(nd.key) ?? profileValue(c, nd)]))),
  };
  const got = runDecision({ ctx, recipient: dst, accountClass, messageClass, category, rules: set, trace: [] }, store, () => {
    throw new Error('an in-memory store answers at once');
  })!;

  const diffs: string[] = [];
  const e = c.expect;
  const cmp = (field: string, want: unknown, have: unknown) => {
    if (want !== undefined && want !== have) diffs.push(`${field}: want ${String(want)}, got ${String(have)}`);
  };
  cmp('action', e.action, got.action);
  cmp('reason', e.reason, got.reason);
  if (e.status !== undefined) {
    const want = expectedStatus(e.status);
    if (want === null) diffs.push(`status: unknown status name ${String(e.status)}`);
    else if (want !== got.status) diffs.push(`status: want 0x${want.toString(16)}, got 0x${got.status.toString(16)}`);
  }
  cmp('rule', e.rule, got.rule);
  cmp('class', e.class, got.class);
  if (e.labels !== undefined) {
    const want = [...e.labels].sort().join(',');
    const have = [...got.labels].sort().join(',');
    if (want !== have) diffs.push(`labels: want [${want}], got [${have}]`);
  }
  if (e.monitor !== undefined) {
    const want = [...e.monitor].sort().join(',');
    const have = got.hits.filter((h) => h.mode === 'monitor').map((h) => h.rule).sort().join(',');
    if (want !== have) diffs.push(`monitor: want [${want}], got [${have}]`);
  }
  return { ...base, pass: diffs.length === 0, diffs, got };
}

/** Runs case files against a rule set; untested = rules no case in any file touched. */
export function runRuleTests(set: RuleSet, caseFiles: readonly string[], read: (p: string) => string = (p) => readFileSync(p, 'utf8')): TestReport {
  const results: CaseResult[] = [];
  const errors: string[] = [];
  const touched = new Set<string>();
  for (const f of caseFiles) {
    let source: string;
    try {
      source = read(f);
    } catch (e) {
      errors.push(`${f}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
      continue;
    }
    const r = runCaseFile(set, f, source);
    results.push(...r.results);
    errors.push(...r.errors);
    for (const t of r.touched) touched.add(t);
  }
  const passed = results.filter((r) => r.pass).length;
  return {
    results,
    passed,
    failed: results.length - passed,
    untested: set.ruleIds.filter((id) => !touched.has(id)),
    errors,
  };
}

/** The report as lines: PASS / FAIL per case (with the diff and trace), untested rules, the summary last. */
export function formatReport(r: TestReport, verbose = false): string[] {
  const out: string[] = [...r.errors];
  for (const c of r.results) {
    if (c.pass) {
      out.push(`PASS ${c.name}`);
      if (verbose) for (const t of c.got?.trace ?? []) out.push(`      ${t}`);
      continue;
    }
    out.push(`FAIL ${c.name} (${c.where})`);
    for (const d of c.diffs) out.push(`    ${d}`);
    if (c.got) {
      out.push(`    got: ${c.got.action} ${c.got.reason} status 0x${c.got.status.toString(16)} rule ${c.got.rule} class ${c.got.class}`);
      if (c.got.trace?.length) {
        out.push('    trace:');
        for (const t of c.got.trace) out.push(`      ${t}`);
      }
    }
  }
  if (r.untested.length) out.push(`untested rules: ${r.untested.join(', ')}`);
  out.push(`${r.passed} passed, ${r.failed} failed`);
  return out;
}
