/** Issue 18 rule keys: campaign counters and marks, content reputation, evidence — the pure side. */
import { describe, expect, it } from 'vitest';
import { IntelIndex } from '../../src/domain/intel.js';
import { fingerprintOf } from '../../src/rules/fingerprint.js';
import { foldChars } from '../../src/rules/normalise.js';
import { extractNumbers } from '../../src/rules/numbers.js';
import { campaignExceeds, campaignHolds, type CampaignKind, type CampaignRule } from '../../src/rules/campaign.js';
import type { RateNeed } from '../../src/domain/store-facts.js';
import { ctx, errorsOf, INITIAL, NOW, oneRule, ruleSet } from './helpers.js';

const SPAM = '【快贷】急用钱？无抵押，最高可借5万元，当天到账，详询13812345678，回T退订';

function reject(match: string, extra = ''): string {
  return `version: 1\n${extra}rules:\n  - id: r\n    description: test rule\n    match: ${match}\n    action: { reject: { status: ESME_RSUBMITFAIL, reason: campaign } }\n`;
}

function marked(text: string, verdict: 'complained' | 'allowed' = 'complained', keys: 'all' | 'id' | 'band' = 'all'): IntelIndex {
  const idx = new IntelIndex();
  const fp = fingerprintOf(foldChars(text));
  const list = keys === 'id' ? [fp.id] : keys === 'band' ? [fp.bands[2]!] : [fp.id, ...fp.bands];
  for (const key of list) idx.putMark({ key, verdict, count: 3, expires: Date.now() + 3_600_000, source: 'complaint:C1' });
  return idx;
}

describe('campaignExceeds (the hot path, no words)', () => {
  it('answers as campaignHolds() does: every limit above its max, at the highest value over the entities', () => {
    const kinds: CampaignKind[] = ['senders', 'accounts', 'recipients'];
    let seed = 7;
    const rnd = (n: number) => (seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) % n;
    for (let round = 0; round < 2000; round++) {
      const limits = kinds.slice(0, 1 + rnd(3)).map((kind) => ({ kind, max: rnd(6) }));
      const r: CampaignRule = { periodMs: 600_000, near: true, limits };
      const entities = 1 + rnd(6);
      const needs: RateNeed[] = [];
      const values = new Map<string, number>();
      for (let e = 0; e < entities; e++) {
        for (const l of limits) {
          const key = `camp:t:${e}:${l.kind}`;
          needs.push({ key, periodMs: r.periodMs, kind: 'recent', entity: `camp:t:${e}`, field: l.kind });
          if (rnd(4) > 0) values.set(key, rnd(9));
        }
      }
      const best = limits.map((_, li) => Math.max(0, ...needs.filter((_, k) => k % limits.length === li).map((n) => values.get(n.key) ?? 0)));
      const expected = limits.every((l, li) => best[li]! > l.max);
      expect(campaignExceeds(r, needs, values)).toBe(expected);
      expect(campaignHolds(r, needs, values).holds).toBe(expected);
    }
  });
});

describe('campaign counters', () => {
  const set = ruleSet(reject('{ campaign: { senders_over: 5, accounts_over: 1, window: 10m } }'));

  it('ask one sliding distinct counter per band and limit, members sender and account', () => {
    const needs = set.rateNeeds(ctx({ text: SPAM }), INITIAL);
    expect(needs).toHaveLength(12);
    expect(needs.filter((n) => n.member === '861069001')).toHaveLength(6);
    expect(needs.filter((n) => n.member === 'acme')).toHaveLength(6);
    expect(needs.every((n) => n.kind === 'recent' && n.periodMs === 600_000 && n.entity!.startsWith('camp:'))).toBe(true);
  });

  it('near: false counts the exact fingerprint only', () => {
    const exact = ruleSet(reject('{ campaign: { recipients_over: 100, near: false } }'));
    const needs = exact.rateNeeds(ctx({ text: SPAM }), INITIAL);
    expect(needs).toHaveLength(1);
    expect(needs[0]!.kind).toBe('count');
  });

  it('a variant (digits, signature, traditional characters) asks the same counters', () => {
    const a = set.rateNeeds(ctx({ text: SPAM }), INITIAL).map((n) => n.key);
    const b = set.rateNeeds(ctx({ text: '【好运】急用錢？無抵押，最高可借8萬元，當天到賬，詳詢13900001111，回T退訂' }), INITIAL).map((n) => n.key);
    expect(b).toEqual(a);
  });

  it('hold when every limit is exceeded on some band, with the counts as evidence', () => {
    const c = ctx({ text: SPAM });
    const needs = set.rateNeeds(c, INITIAL);
    const counters = new Map<string, number>();
    counters.set(needs[2]!.key, 6); // senders on band 1
    counters.set(needs[5]!.key, 2); // accounts on band 2
    const trace: string[] = [];
    const out = set.evaluate(c, INITIAL, counters, trace);
    expect(out.final?.rule).toBe('r');
    expect(out.evidence).toMatch(/^campaign senders 6 > 5 \(1\.[0-9a-f]+\), accounts 2 > 1 \(2\.[0-9a-f]+\) in 600s$/);
    expect(trace.join('\n')).toContain('campaign senders 6 > 5');
    counters.set(needs[5]!.key, 1);
    expect(set.evaluate(c, INITIAL, counters).final).toBeNull();
  });

  it('counts only at the top level', () => {
    expect(errorsOf(reject('{ any: [ { campaign: { senders_over: 5 } } ] }')).join('\n')).toMatch(/only allowed at the top level/);
    expect(errorsOf(reject('{ campaign: { window: 10m } }')).join('\n')).toMatch(/give senders_over/);
  });
});

describe('campaign complained', () => {
  const set = ruleSet(reject('{ campaign: { complained: true } }'));
  const variant = '【好运来】急用錢？无抵押，最高可借9万元，當日到账，详询13700002222，回T退订';

  it('a near-duplicate of a complained text matches, with the mark as evidence', () => {
    const out = set.evaluate(ctx({ text: variant, intel: marked(SPAM) }), INITIAL, new Map());
    expect(out.final?.rule).toBe('r');
    expect(out.evidence).toMatch(/fingerprint .* complained \(3×, complaint:C1\)/);
  });

  it('one shared band is enough when near (the default)', () => {
    expect(set.evaluate(ctx({ text: SPAM, intel: marked(SPAM, 'complained', 'band') }), INITIAL, new Map()).final).not.toBeNull();
    const exact = ruleSet(reject('{ campaign: { complained: true, near: false } }'));
    expect(exact.evaluate(ctx({ text: SPAM, intel: marked(SPAM, 'complained', 'band') }), INITIAL, new Map()).final).toBeNull();
  });

  it('an allowed mark (reviewer approve) wins', () => {
    const idx = marked(SPAM);
    idx.putMark({ key: fingerprintOf(foldChars(SPAM)).bands[0]!, verdict: 'allowed', count: 1, expires: Date.now() + 60_000, source: 'review:1' });
    expect(set.evaluate(ctx({ text: SPAM, intel: idx }), INITIAL, new Map()).final).toBeNull();
  });

  it('an expired mark, another text or no intel does not match', () => {
    const idx = new IntelIndex();
    for (const key of fingerprintOf(foldChars(SPAM)).bands) idx.putMark({ key, verdict: 'complained', count: 1, expires: NOW - 1, source: 'x' });
    expect(set.evaluate(ctx({ text: SPAM, intel: idx }), INITIAL, new Map()).final).toBeNull();
    expect(set.evaluate(ctx({ text: '【顺丰】您的快递已到驿站，取件码1234', intel: marked(SPAM) }), INITIAL, new Map()).final).toBeNull();
    expect(set.evaluate(ctx({ text: SPAM }), INITIAL, new Map()).final).toBeNull();
  });
});

describe('content reputation', () => {
  const set = ruleSet(reject('{ content: { numbers_in: fraud-numbers, domains_in: [fraud-domains] } }'));
  const numbersOnly = ruleSet(reject('{ content: { numbers_in: fraud-numbers } }'));
  const domainsOnly = ruleSet(reject('{ content: { domains_in: fraud-domains } }'));
  const idx = new IntelIndex();
  idx.addEntry('number', 'fraud-numbers', '13812345678');
  idx.addEntry('number', 'fraud-numbers', '4001234567');
  idx.addEntry('domain', 'fraud-domains', 'fraud.com');

  it.each([
    ['plain', '详询13812345678'],
    ['dashes', '详询 138-1234-5678'],
    ['spaces and country code', 'call +86 138 1234 5678'],
    ['00 prefix', '请拨0086 13812345678'],
    ['full-width digits', '详询１３８１２３４５６７８'],
    ['symbols between digits', '详询138★1234★5678'],
    ['traditional text around it', '詳詢13812345678領取'],
    ['a 400 number', '客服 400-123-4567'],
  ])('a fraud callback number is found: %s', (_, text) => {
    const out = numbersOnly.evaluate(ctx({ text, intel: idx }), INITIAL, new Map());
    expect(out.final?.rule).toBe('r');
    expect(out.evidence).toMatch(/^number in fraud-numbers: /);
  });

  it.each([['fraud点com/x'], ['m.fraud.com'], ['fraud dot com'], ['fra ud.com']])('a fraud domain is found: %s', (text) => {
    const out = domainsOnly.evaluate(ctx({ text: `点击 ${text} 领取`, intel: idx }), INITIAL, new Map());
    expect(out.evidence).toBe('domain in fraud-domains: fraud.com');
  });

  it.each([
    ['another number', '详询13812345679'],
    ['a code glued to letters', 'code ab13812345678'],
    ['an order number shorter than 7 digits', '订单号 123456'],
    ['an ordinary link', 'https://example.com/13812345678x'],
    ['no intel at all', null],
  ])('ordinary text does not match: %s', (_, text) => {
    const c = text === null ? ctx({ text: '详询13812345678' }) : ctx({ text, intel: idx });
    expect(set.evaluate(c, INITIAL, new Map()).final).toBeNull();
  });

  it('extracts numbers once, digits only', () => {
    expect(extractNumbers(foldChars('拨打 (010) 6552-9988 或 +86 138 1234 5678，验证码 1234'))).toEqual(['01065529988', '8613812345678']);
  });

  it('set names are checked like list names', () => {
    expect(errorsOf(reject('{ content: { numbers_in: "bad name!" } }')).join('\n')).toMatch(/names are letters/);
  });
});

describe('ordinary text never matches a campaign mark', () => {
  const set = ruleSet(oneRule('{ campaign: { complained: true } }'));
  const idx = marked(SPAM);
  it.each([
    '【顺丰速运】您的快递已到达驿站，取件码 1234，请凭码取件。',
    '【招商银行】您尾号1234的卡于12月5日消费100.00元。',
    '明天下午三点开会，请准时参加。',
    'Your order has shipped.',
    '【京东】您的订单已发货，预计明天送达，回T退订',
  ])('%s', (text) => {
    expect(set.evaluate(ctx({ text, intel: idx }), INITIAL, new Map()).hits).toHaveLength(0);
  });
});
