import { it } from 'vitest';
import { createHash } from 'node:crypto';
import { normaliseText, lightNormalise, foldChars } from '../../src/rules/normalise.js';
import { extractDomains } from '../../src/rules/lists.js';
const texts = ['【ACME商城】双十一全场五折，回T退订', 'Your OTP is 123456. Do not share it.', '【ACME】您的快递已到，详情 https://track.example.org/123'];
function bench(name: string, f: (s: string) => unknown) {
  const N = 100000;
  const t0 = performance.now();
  for (let i = 0; i < N; i++) f(texts[i % 3]! + i);
  console.log(name, ((performance.now() - t0) * 1000 / N).toFixed(2), 'µs');
}
it('bench', () => {
  bench('nfkd', (s) => s.normalize('NFKD'));
  bench('fold', foldChars);
  bench('normaliseText', normaliseText);
  bench('light', lightNormalise);
  bench('domains', (s) => extractDomains(lightNormalise(s)));
  bench('sha1', (s) => createHash('sha1').update(s).digest('base64url'));
});
import { loadRules } from '../../src/decision/rule-loader.js';
import { ctx } from './helpers.js';
it('bench set', () => {
  const r = loadRules('test/fixtures/rules/examples');
  if (!r.ok) throw new Error();
  const set = r.set;
  const init = { class: 'commercial' as const, category: null, labels: [] };
  const N = 100000;
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    const c = ctx({ text: texts[i % 3]! + i });
    set.rateNeeds(c, init);
    set.evaluate(c, init, new Map());
  }
  const dt = performance.now() - t0;
  console.log(`${((dt * 1000) / N).toFixed(2)} µs per message (rateNeeds + evaluate)`);
});
