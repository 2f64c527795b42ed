/**
 * How campaign fingerprints group real variants (issue 18): the measurement behind the choice of
 * MinHash/LSH and its bands × rows in src/rules/fingerprint.ts, and the cost per message of the
 * normaliser and the fingerprint.
 *
 *   node dist/bench/campaign-grouping.js <labelled.tsv>
 *
 * <labelled.tsv>: "label<TAB>text" lines, label spam or ham (the SMS Spam Collection's layout).
 * Measured:
 *   1. spam × spam pairs of the file, binned by the exact Jaccard similarity of their masked
 *      shingle sets: the share of pairs each scheme puts in one bucket (real campaign variants
 *      are the high-similarity bins);
 *   2. random ham × ham and ham × spam pairs: the share wrongly put in one bucket (what would merge
 *      unrelated counters);
 *   3. Chinese campaign variants generated from templates (digits changed, a word swapped,
 *      traditional characters, emoji between characters, link and signature changed): the share
 *      that share a bucket with the original, and unrelated templates that do;
 *   4. cost: µs per 160-character message for the normaliser (fold + normalise + links) and the
 *      fingerprint.
 */
import { readFileSync } from 'node:fs';
import { fmix32 as fmix } from '../src/domain/hash.js';
import * as OpenCC from 'opencc-js';
import { bandKeys, fingerprintOf, minHash, shingleHashes, shingleText } from '../src/rules/fingerprint.js';
import { domainCandidates, deobfuscateLinks } from '../src/rules/links.js';
import { extractDomains } from '../src/rules/lists.js';
import { foldChars, lightOf, normaliseFolded } from '../src/rules/normalise.js';

const file = process.argv[2];
if (!file) {
  console.error('usage: node dist/bench/campaign-grouping.js <labelled.tsv>');
  process.exit(2);
}

const rows = readFileSync(file, 'utf8')
  .split('\n')
  .slice(1)
  .map((l) => l.split('\t'))
  .filter((f) => f.length >= 2 && (f[0] === 'spam' || f[0] === 'ham'))
  .map((f) => ({ spam: f[0] === 'spam', text: f.slice(1).join('\t') }));

interface Item {
  set: Set<number>;
  hashes: Uint32Array;
  sig: Uint32Array;
  sim: [number, number];
}

const SCHEMES: [number, number][] = [
  [4, 3],
  [4, 4],
  [6, 4],
  [8, 4],
  [6, 5],
  [10, 5],
];
const MAXK = 50;


/** 64-bit SimHash as two 32-bit halves. */
function simHash(hashes: Uint32Array): [number, number] {
  const v = new Int32Array(64);
  for (const h of hashes) {
    const a = fmix(h ^ 0x1234567);
    const b = fmix(h ^ 0x7654321);
    for (let i = 0; i < 32; i++) {
      v[i] += (a >>> i) & 1 ? 1 : -1;
      v[32 + i] += (b >>> i) & 1 ? 1 : -1;
    }
  }
  let lo = 0;
  let hi = 0;
  for (let i = 0; i < 32; i++) {
    if (v[i]! > 0) lo |= 1 << i;
    if (v[32 + i]! > 0) hi |= 1 << i;
  }
  return [lo >>> 0, hi >>> 0];
}

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24) & 0xff;
}

function item(text: string): Item {
  const hashes = shingleHashes(shingleText(foldChars(text)));
  return { set: new Set(hashes), hashes, sig: minHash(hashes, MAXK), sim: simHash(hashes) };
}

function jaccard(a: Set<number>, b: Set<number>): number {
  if (a.size === 0 && b.size === 0) return 1;
  let inter = 0;
  for (const x of a) if (b.has(x)) inter++;
  return inter / (a.size + b.size - inter);
}

/** Which schemes put a and b in one bucket: MinHash b×r per SCHEMES, then SimHash ≤3 bits, SimHash 4×16-bit bands. */
function together(a: Item, b: Item): boolean[] {
  const out: boolean[] = [];
  for (const [bands, r] of SCHEMES) {
    const ka = bandKeys(a.sig, bands, r);
    const kb = bandKeys(b.sig, bands, r);
    out.push(ka.some((k, i) => k === kb[i]));
  }
  const d = popcount(a.sim[0] ^ b.sim[0]) + popcount(a.sim[1] ^ b.sim[1]);
  out.push(d <= 3);
  out.push(
    (a.sim[0] & 0xffff) === (b.sim[0] & 0xffff) ||
      a.sim[0] >>> 16 === b.sim[0] >>> 16 ||
      (a.sim[1] & 0xffff) === (b.sim[1] & 0xffff) ||
      a.sim[1] >>> 16 === b.sim[1] >>> 16,
  );
  return out;
}

const NAMES = [...SCHEMES.map(([b, r]) => `MinHash ${b}×${r}`), 'SimHash ≤3 bits', 'SimHash 4×16-bit bands'];

function pct(n: number, d: number): string {
  return d === 0 ? '—' : `${((100 * n) / d).toFixed(n > 0 && n / d < 0.001 ? 3 : 1)} %`;
}

function table(title: string, bins: { label: string; n: number; hits: number[] }[]): void {
  console.log(`\n${title}\n`);
  console.log(`| pairs | n | ${NAMES.join(' | ')} |`);
  console.log(`|---|---:|${NAMES.map(() => '---:').join('|')}|`);
  for (const b of bins) console.log(`| ${b.label} | ${b.n} | ${b.hits.map((h) => pct(h, b.n)).join(' | ')} |`);
}

// ---- 1. spam × spam by similarity --------------------------------------------------------------

const spam = rows.filter((r) => r.spam).map((r) => item(r.text));
const ham = rows.filter((r) => !r.spam).map((r) => item(r.text));
const EDGES = [0, 0.2, 0.4, 0.6, 0.7, 0.8, 0.9, 1.0001];
const bins = EDGES.slice(0, -1).map((lo, i) => ({
  label: i === EDGES.length - 2 ? `J ≥ ${lo}` : `${lo} ≤ J < ${EDGES[i + 1]}`,
  n: 0,
  hits: NAMES.map(() => 0),
}));
for (let i = 0; i < spam.length; i++) {
  for (let j = i + 1; j < spam.length; j++) {
    const jv = jaccard(spam[i]!.set, spam[j]!.set);
    const bin = bins[EDGES.findIndex((e, k) => jv >= e && jv < EDGES[k + 1]!)]!;
    bin.n++;
    together(spam[i]!, spam[j]!).forEach((t, k) => (bin.hits[k]! += t ? 1 : 0));
  }
}
console.log(`# campaign grouping — ${rows.length} messages (${spam.length} spam, ${ham.length} ham) from ${file.split('/').pop()}`);
table('1. spam × spam pairs by Jaccard similarity of the masked 3-gram sets: share put in one bucket', bins);

// ---- 2. unrelated pairs --------------------------------------------------------------------------

let seed = 42;
const rand = (n: number) => {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return seed % n;
};
const unrelated = { label: 'random ham × ham and ham × spam pairs with J < 0.5', n: 0, hits: NAMES.map(() => 0) };
for (let t = 0; t < 200_000; t++) {
  const a = ham[rand(ham.length)]!;
  const b = t % 4 === 0 ? spam[rand(spam.length)]! : ham[rand(ham.length)]!;
  if (a === b || jaccard(a.set, b.set) >= 0.5) continue;
  unrelated.n++;
  together(a, b).forEach((x, k) => (unrelated.hits[k]! += x ? 1 : 0));
}
table('2. unrelated pairs: share wrongly put in one bucket', [unrelated]);

// ---- 3. Chinese variants -------------------------------------------------------------------------

const toTraditional = OpenCC.Converter({ from: 'cn', to: 'tw' });
const TEMPLATES: { text: string; swap: [string, string] }[] = [
  { text: '【优选商城】尊敬的会员，您有一张{N}元无门槛优惠券即将过期，立即领取 {U} 回T退订', swap: ['立即', '马上'] },
  { text: '【快贷】急用钱？无抵押无担保，最高可借{N}万元，当天到账，详询{P}，回T退订', swap: ['当天', '当日'] },
  { text: '您的账户存在异常，请于今日内点击 {U} 完成身份验证，否则将被冻结。', swap: ['冻结', '停用'] },
  { text: '【ETC服务】您的ETC卡已失效，请尽快登录 {U} 重新认证，以免影响通行。', swap: ['尽快', '立即'] },
  { text: '恭喜您获得本期幸运大奖，奖金{N}元，请添加客服微信{C}领取，逾期作废。', swap: ['逾期', '过期'] },
  { text: '【鸿运娱乐】新用户注册即送{N}元彩金，首充再送百分之五十，官网{U}', swap: ['注册', '登记'] },
  { text: '【顺丰】您的快递因地址不详无法派送，请点击{U}更新地址，以免退回。', swap: ['退回', '退件'] },
  { text: '兼职刷单，日结{N}元起，手机即可操作，无需押金，联系QQ{C}', swap: ['日结', '日付'] },
  { text: '【美丽人生】年末大促，全场护肤品低至{N}折，到店再送精美礼品，详情{U} 拒收请回复R', swap: ['年末', '年底'] },
  { text: '您好，我是您孩子的班主任，请将学杂费{N}元转至账户{C}，收到请回复。', swap: ['转至', '转到'] },
  { text: '【安居地产】城东精装现房，首付{N}万起，地铁口，样板间开放中，咨询{P}', swap: ['开放中', '已开放'] },
  { text: '【车险到期提醒】您的车险即将到期，续保享{N}折，点击{U}立即报价，回TD退订', swap: ['续保', '续约'] },
];
const num = () => String(100 + rand(9900));
const link = () => ['bit.ly/', 'c.cn/', 'url.cn/', 't.cn/'][rand(4)]! + Math.random().toString(36).slice(2, 8);
const phone = () => `1${3 + rand(6)}${String(rand(1e9)).padStart(9, '0')}`;
const code = () => `wx${Math.random().toString(36).slice(2, 9)}`;
function fill(t: string): string {
  return t.replace(/\{N\}/g, num).replace(/\{U\}/g, link).replace(/\{P\}/g, phone).replace(/\{C\}/g, code);
}
const EMOJI = ['🎁', '🔥', '💰', '★', '※', '❤'];
function sprinkle(t: string): string {
  let out = '';
  for (const ch of t) out += ch + (/[\u4e00-\u9fff]/.test(ch) && rand(3) === 0 ? EMOJI[rand(EMOJI.length)] : '');
  return out;
}
const KINDS: [string, (t: { text: string; swap: [string, string] }) => string][] = [
  ['numbers, codes and links changed', (t) => fill(t.text)],
  ['one word swapped', (t) => fill(t.text.replace(t.swap[0], t.swap[1]))],
  ['traditional characters', (t) => toTraditional(fill(t.text))],
  ['emoji/symbols between characters', (t) => sprinkle(fill(t.text))],
  ['signature changed', (t) => fill(t.text.replace(/【[^】]+】/, '【好运来】'))],
  ['all of the above at once', (t) => sprinkle(toTraditional(fill(t.text.replace(t.swap[0], t.swap[1]).replace(/【[^】]+】/, '【好运来】'))))],
];
const cnBins = KINDS.map(([label]) => ({ label: `variant: ${label}`, n: 0, hits: NAMES.map(() => 0) }));
const cross = { label: 'different templates (unrelated campaigns)', n: 0, hits: NAMES.map(() => 0) };
const originals = TEMPLATES.map((t) => item(fill(t.text)));
for (let round = 0; round < 20; round++) {
  TEMPLATES.forEach((t, ti) => {
    KINDS.forEach(([, make], k) => {
      const v = item(make(t));
      cnBins[k]!.n++;
      together(originals[ti]!, v).forEach((x, s) => (cnBins[k]!.hits[s]! += x ? 1 : 0));
      const other = originals[(ti + 1 + rand(TEMPLATES.length - 1)) % TEMPLATES.length]!;
      cross.n++;
      together(other, v).forEach((x, s) => (cross.hits[s]! += x ? 1 : 0));
    });
  });
}
table('3. Chinese campaign variants against their original (12 templates × 20 rounds)', [...cnBins, cross]);

// ---- 4. cost -------------------------------------------------------------------------------------

const sample160 = toTraditional(fill(TEMPLATES[1]!.text) + fill(TEMPLATES[0]!.text) + fill(TEMPLATES[8]!.text)).slice(0, 160);
const sampleEmoji = sprinkle(fill(TEMPLATES[2]!.text) + fill(TEMPLATES[4]!.text) + fill(TEMPLATES[6]!.text)).slice(0, 160);
function time(label: string, text: string, fn: (s: string) => unknown): void {
  // Distinct strings, so nothing is cached between calls.
  const texts = Array.from({ length: 2000 }, (_, i) => `${text.slice(0, 154)}${i}`);
  for (const t of texts) fn(t);
  const rounds = 10;
  const t0 = performance.now();
  for (let r = 0; r < rounds; r++) for (const t of texts) fn(t);
  const us = ((performance.now() - t0) * 1000) / (rounds * texts.length);
  console.log(`| ${label} | ${text.length} | ${us.toFixed(1)} µs |`);
}
console.log('\n4. cost per message (one core, this machine; median of nothing — one run, noisy host)\n');
console.log('| step | chars | per message |');
console.log('|---|---:|---:|');
time('fold (NFKD, traditional → simplified, look-alikes), traditional text', sample160, (s) => foldChars(s));
time('fold + normalise (separators, leet)', sample160, (s) => normaliseFolded(foldChars(s)));
time('fold + links: strict domains + every candidate reading', sample160, (s) => {
  const l = lightOf(foldChars(s));
  domainCandidates(l, extractDomains(deobfuscateLinks(l)));
});
time('fold + normalise, emoji-laden text', sampleEmoji, (s) => normaliseFolded(foldChars(s)));
time('fingerprint (mask, normalise, 3-grams, MinHash 6×4, band keys), from folded text', sample160, (s) => fingerprintOf(foldChars(s)));
