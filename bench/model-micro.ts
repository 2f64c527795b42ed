/**
 * The learned content score's costs, without the gateway: `node dist/bench/model-micro.js
 * [--count 200000] [--model models/spam-en.model] [--rules test/fixtures/rules/examples]`.
 *
 *   load        reading and checking the model file (header, sha256 of the weights, finiteness), median of 20
 *   score       the model on a message already normalised (what a `score` rule adds in the gateway, which
 *               normalises each text once for all its text rules), per 160-character English message and
 *               per 70-character Chinese one (one SMS each), every message distinct
 *   scoreText   the same including rules/normalise.ts normaliseText
 *   explain     the score with its 5 n-grams that pushed it most (explain, evidence of matched rules)
 *   rule set    the example rule pack per message (rateNeeds + evaluate) without and with a monitor-mode
 *               `score` rule on every message, alternating rounds, and the ratio of their rates
 *
 * Times are CPU time of this process (process.cpuUsage), wall time beside it: on a shared box wall
 * time also counts the waits for a core. Figures vary with the box; compare commits in alternating runs.
 */
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ModelLoader } from '../src/decision/model-loader.js';
import { loadRules } from '../src/decision/rule-loader.js';
import type { SenderRecord } from '../src/domain/sender.js';
import { LinearModel } from '../src/model/model.js';
import type { RuleSet } from '../src/rules/engine.js';
import { normaliseText } from '../src/rules/normalise.js';
import type { RuleContext, RuleState } from '../src/rules/types.js';
import { numberFlag } from './procs.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const argv = process.argv.slice(2);
const N = numberFlag(argv, '--count', 200_000);
const flag = (name: string, def: string) => {
  const i = argv.indexOf(name);
  return resolve(ROOT, i >= 0 && argv[i + 1] ? argv[i + 1]! : def);
};
const MODEL = flag('--model', 'models/spam-en.model');
const RULES = flag('--rules', 'test/fixtures/rules/examples');

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

// ---- load ----
const bytes = readFileSync(MODEL);
const loads: number[] = [];
let model: LinearModel | null = null;
for (let i = 0; i < 20; i++) {
  const t0 = performance.now();
  model = LinearModel.decode(readFileSync(MODEL), MODEL);
  loads.push(performance.now() - t0);
}
console.log(`load           ${median(loads).toFixed(2)} ms median of 20 (first ${loads[0]!.toFixed(2)} ms); ${(bytes.length / 1e6).toFixed(2)} MB, ${model!.header.algorithm} ${model!.header.features.min_n}-${model!.header.features.max_n}-grams, 2^${model!.header.features.bits} buckets`);

// ---- texts: distinct 160-character English and 70-character Chinese messages ----
const EN_BASE = 'Congratulations! You have won a 1000 GBP cash prize. Call 09061701461 now to claim, T&C apply. Reply STOP to opt out of further msgs 150p/msg, ref ';
const ZH_BASE = '【ACME商城】尊敬的会员，双十一全场五折起，满300减50，限时三天，详情请登录APP查看，回T退订，编号';
const POOL = 1000;
const en = Array.from({ length: POOL }, (_, i) => (EN_BASE + String(100000 + i)).padEnd(160, 'x').slice(0, 160));
const zh = Array.from({ length: POOL }, (_, i) => (ZH_BASE + String(1000 + i)).padEnd(70, '。').slice(0, 70));
const enPlain = en.map((t) => normaliseText(t).plain);
const zhPlain = zh.map((t) => normaliseText(t).plain);

function perCall(name: string, f: (i: number) => unknown, n = N): number {
  let sink = 0;
  for (let i = 0; i < Math.min(n, 20_000); i++) sink += Number(f(i % POOL)) || 0; // warm-up
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  for (let i = 0; i < n; i++) sink += Number(f(i % POOL)) || 0;
  const wall = ((performance.now() - t0) * 1000) / n;
  const c = process.cpuUsage(c0);
  const cpu = (c.user + c.system) / n;
  console.log(`${name.padEnd(30)} ${cpu.toFixed(2)} µs CPU (${wall.toFixed(2)} µs wall)${sink === -1 ? '' : ''}`);
  return cpu;
}

const m = model!;
perCall('score, English 160 chars', (i) => m.score(enPlain[i]!));
perCall('score, Chinese 70 chars', (i) => m.score(zhPlain[i]!));
perCall('normaliseText, English 160', (i) => normaliseText(en[i]!).plain.length);
perCall('scoreText, English 160', (i) => m.scoreText(en[i]!));
perCall('scoreText, Chinese 70', (i) => m.scoreText(zh[i]!));
perCall('explain (5 n-grams), English', (i) => m.explain(enPlain[i]!, 5).p, Math.min(N, 20_000));

// ---- a rule pack without and with a score rule ----
const dir = mkdtempSync(join(tmpdir(), 'sg-bench-score-'));
cpSync(RULES, dir, { recursive: true });
writeFileSync(
  join(dir, '00-score.yaml'),
  `version: 1
rules:
  - id: learned-score
    description: the learned score on every message (monitor; first, so no other rule ends the walk before it)
    mode: monitor
    match: { score: { model: spam, above: 0.9 } }
    action: { reject: { reason: spam_score } }
`,
);
const models = new ModelLoader({ spam: MODEL });
models.load();
const load = (d: string): RuleSet => {
  const r = loadRules(d, { models });
  if (!r.ok) throw new Error(r.errors.join('\n'));
  return r.set;
};
const without = load(RULES);
const withScore = load(dir);
const sender: SenderRecord = { id: 'number:861069001', kind: 'number', value: '861069001', account: 'acme', class: 'commercial', status: 'active', signatures: ['ACME商城'] };
const initial: RuleState = { class: 'commercial', category: null, labels: [] };
const counters = new Map<string, number>();
const context = (text: string): RuleContext => ({
  account: 'acme',
  src: { kind: 'number', value: '861069001' },
  sender,
  senderClass: 'commercial',
  dst: '8613800138000',
  serviceType: '',
  dataCoding: 8,
  esmClass: 0,
  tlv: () => undefined,
  text,
  now: Date.parse('2026-11-28T10:00:00+08:00'),
});
let serial = 0;
/** Messages per CPU second (CPU time: on a shared box, wall time also counts waiting for a core). */
function round(set: RuleSet, n: number): number {
  const c0 = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    // Distinct texts: nothing comes from the per-text cache.
    const c = context((i & 1 ? en : zh)[i % POOL]! + String(serial++));
    set.rateNeeds(c, initial);
    set.evaluate(c, initial, counters);
  }
  const c = process.cpuUsage(c0);
  return (n * 1e6) / (c.user + c.system);
}
const rounds = 6;
const per = Math.max(2000, Math.floor(N / 10));
const a: number[] = [];
const b: number[] = [];
round(without, per);
round(withScore, per);
for (let r = 0; r < rounds; r++) {
  a.push(round(without, per));
  b.push(round(withScore, per));
}
const ma = median(a);
const mb = median(b);
console.log(
  `rule set (${without.ruleIds.length} rules)            ${(1e6 / ma).toFixed(2)} µs CPU per message (${Math.round(ma).toLocaleString('en')} msg per CPU second)\n` +
    `rule set + score rule (${withScore.ruleIds.length} rules)  ${(1e6 / mb).toFixed(2)} µs CPU per message (${Math.round(mb).toLocaleString('en')} msg per CPU second)\n` +
    `with / without: ${(mb / ma).toFixed(3)} (medians of ${rounds} alternating rounds of ${per.toLocaleString('en')} messages)`,
);
