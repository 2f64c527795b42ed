/**
 * The rule engine's CPU per message, without the gateway: `node dist/bench/rules-micro.js
 * [--count 100000] [--rules test/fixtures/rules/examples]`. Prints µs per call for the text
 * normalisers rule matching runs on every message (NFKD, character folding, normaliseText,
 * lightNormalise, URL domain extraction, the SHA-1 of identical-content counters), then for a whole
 * rule set (rateNeeds + evaluate) on three typical texts — a Chinese marketing text with an opt-out,
 * an English OTP, a Chinese notice with a URL — each made unique by a counter so nothing is cached.
 * Figures vary with the box; compare commits in alternating runs.
 */
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SenderRecord } from '../src/domain/sender.js';
import { extractDomains } from '../src/rules/lists.js';
import { loadRules } from '../src/decision/rule-loader.js';
import { foldChars, lightNormalise, normaliseText } from '../src/rules/normalise.js';
import type { RuleContext, RuleState } from '../src/rules/types.js';
import { numberFlag } from './procs.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const argv = process.argv.slice(2);
const N = numberFlag(argv, '--count', 100_000);
const ri = argv.indexOf('--rules');
const RULES = resolve(ROOT, ri >= 0 && argv[ri + 1] ? argv[ri + 1]! : 'test/fixtures/rules/examples');

const TEXTS = ['【ACME商城】双十一全场五折，回T退订', 'Your OTP is 123456. Do not share it.', '【ACME】您的快递已到，详情 https://track.example.org/123'];
const NOW = Date.parse('2026-11-28T10:00:00+08:00');

function time(name: string, f: (s: string) => unknown): void {
  const t0 = performance.now();
  for (let i = 0; i < N; i++) f(TEXTS[i % 3]! + i);
  console.log(`${name.padEnd(14)} ${(((performance.now() - t0) * 1000) / N).toFixed(2)} µs`);
}

time('nfkd', (s) => s.normalize('NFKD'));
time('fold', foldChars);
time('normaliseText', normaliseText);
time('light', lightNormalise);
time('domains', (s) => extractDomains(lightNormalise(s)));
time('sha1', (s) => createHash('sha1').update(s).digest('base64url'));

const loaded = loadRules(RULES);
if (!loaded.ok) throw new Error(`rules in ${RULES} do not load:\n  ${loaded.errors.join('\n  ')}`);
const set = loaded.set;
const sender: SenderRecord = {
  id: 'number:861069001',
  kind: 'number',
  value: '861069001',
  account: 'acme',
  class: 'commercial',
  status: 'active',
  signatures: ['ACME商城'],
};
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
  now: NOW,
});
const initial: RuleState = { class: 'commercial', category: null, labels: [] };
const counters = new Map<string, number>();
const t0 = performance.now();
for (let i = 0; i < N; i++) {
  const c = context(TEXTS[i % 3]! + i);
  set.rateNeeds(c, initial);
  set.evaluate(c, initial, counters);
}
console.log(`rule set       ${(((performance.now() - t0) * 1000) / N).toFixed(2)} µs per message (rateNeeds + evaluate; ${set.ruleIds.length} rules from ${RULES})`);
