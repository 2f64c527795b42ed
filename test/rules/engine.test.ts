import { describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { parseHours, withinHours, ZoneTable } from '../../src/rules/hours.js';
import { minuteOfDay } from '../../src/domain/time.js';
import { parseDuration } from '../../src/domain/time.js';
import { compileTemplate, parseTemplates, TemplateIndex } from '../../src/rules/templates.js';
import { RuleLoader } from '../../src/decision/rule-loader.js';
import { ctx, INITIAL, matches, oneRule, ruleSet, errorsOf } from './helpers.js';

const PACK = `version: 1
rules:
  - id: tag-marketing
    description: marketing words make it commercial
    match: { text: { contains_any: [sale] } }
    action: { tag: { class: commercial, category: 3, label: promo } }
  - id: watch-links
    description: monitor only
    mode: monitor
    match: { urls: { present: true } }
    action: { reject: { status: 0x406, reason: link } }
  - id: promo-needs-signature
    description: uses the tag above
    match: { label: promo, signature: absent }
    action: { reject: { status: 0x401, reason: missing_signature } }
  - id: allow-rest
    description: everything else is accepted by the rules
    action: forward
  - id: never-reached
    description: after the forward
    action: { reject: { status: ESME_RSUBMITFAIL, reason: unreachable } }
`;

const SERVICE = { class: 'service' as const, category: null, labels: [] };

/** Rules after one that may tag a message commercial: one that reads the tag, then a forward for the rest. */
const READS_TAG = `  - id: needs-signature
    description: reads the tag a rule above sets
    match: { class: commercial, signature: absent }
    action: { reject: { status: 0x401, reason: missing_signature } }
  - id: allow-rest
    description: everything else
    action: forward
`;

/** A message's decide() after its needsOf() (the live path), checked equal to a fresh evaluation; the outcome. */
function decidedTwice(rs: ReturnType<typeof ruleSet>, counters: Map<string, number>) {
  const c = ctx({ text: 'hello' });
  const f = rs.facts(c, SERVICE);
  rs.needsOf(f);
  const reused = rs.decide(f, counters);
  expect(reused).toEqual(rs.evaluate(c, SERVICE, counters));
  return reused;
}

describe('evaluation', () => {
  const set = ruleSet(PACK);
  const initial = { class: 'service' as const, category: null, labels: [] };

  it('a tag feeds later rules and the final state; the first enforce action ends evaluation', () => {
    const out = set.evaluate(ctx({ text: 'big sale today' }), initial, new Map());
    expect(out.state).toEqual({ class: 'commercial', category: 3, labels: ['promo'] });
    expect(out.final).toEqual({ rule: 'promo-needs-signature', action: { kind: 'reject', status: 0x401, reason: 'missing_signature' }, mode: 'enforce' });
    expect(out.hits.map((h) => h.rule)).toEqual(['tag-marketing', 'promo-needs-signature']);
  });

  it('decide() after needsOf() on the same facts equals a fresh evaluation, also when a rate tag fires', () => {
    const pack = `version: 1
rules:
  - id: busy-recipient
    description: a rate that tags instead of rejecting
    match: { rate: { per: recipient, window: 1m, max: 1 } }
    action: { tag: { class: commercial, label: busy } }
${READS_TAG}`;
    const rs = ruleSet(pack);
    const [need] = rs.rateNeeds(ctx({ text: 'hello' }), SERVICE);
    for (const n of [1, 2]) {
      const reused = decidedTwice(rs, new Map([[need!.key, n]]));
      expect(reused.final?.rule).toBe(n === 1 ? 'allow-rest' : 'needs-signature');
    }
  });

  it('decide() after needsOf() equals a fresh evaluation when a behaviour tag fires, or a monitor-mode behaviour rule matches', () => {
    const pack = `version: 1
rules:
  - id: scan-watch
    description: monitor mode changes nothing, later results stand
    mode: monitor
    match: { behaviour: { sequential_recipients_over: 5, window: 10m } }
    action: { reject: { status: 0x58, reason: range_scan } }
  - id: spread-tags
    description: a behaviour condition that tags
    match: { behaviour: { distinct_recipients_over: 5, window: 1h } }
    action: { tag: { class: commercial, label: spread } }
${READS_TAG}`;
    const rs = ruleSet(pack);
    const [scan, spread] = rs.rateNeeds(ctx({ text: 'hello' }), SERVICE);
    for (const [s, d, rule, hits] of [
      [1, 1, 'allow-rest', ['allow-rest']],
      [9, 1, 'allow-rest', ['scan-watch', 'allow-rest']],
      [9, 9, 'needs-signature', ['scan-watch', 'spread-tags', 'needs-signature']],
      [1, 9, 'needs-signature', ['spread-tags', 'needs-signature']],
    ] as const) {
      const reused = decidedTwice(
        rs,
        new Map([
          [scan!.key, s],
          [spread!.key, d],
        ]),
      );
      expect(reused.final?.rule).toBe(rule);
      expect(reused.hits.map((h) => h.rule)).toEqual(hits);
    }
  });

  it('monitor mode reports the would-be action and goes on', () => {
    const out = set.evaluate(ctx({ text: 'see x.cn/a' }), initial, new Map());
    expect(out.hits.map((h) => [h.rule, h.mode])).toEqual([
      ['watch-links', 'monitor'],
      ['allow-rest', 'enforce'],
    ]);
    expect(out.final?.rule).toBe('allow-rest');
    expect(out.state).toEqual(initial);
  });

  it('the same rule in enforce mode acts', () => {
    const enforce = ruleSet(PACK.replace('mode: monitor', 'mode: enforce'));
    expect(enforce.evaluate(ctx({ text: 'see x.cn/a' }), initial, new Map()).final?.rule).toBe('watch-links');
  });

  it('counts hits only when recorded, per rule, action and mode, and exports them at scrape', async () => {
    const registry = new Registry();
    const loader = new RuleLoader('test/fixtures/rules/examples', { registry });
    expect(loader.load()).toBe(true);
    const rs = loader.current;
    const c = ctx({ text: '【ACME】see x.cn/a', src: { kind: 'number', value: '861069002' }, dst: '8613800138000' });
    const out = rs.evaluate(c, { class: 'service', category: null, labels: [] }, new Map());
    expect(loader.counts.get('cn-foreign-url', 'reject', 'monitor')).toBe(0);
    rs.record(out.hits);
    rs.record(out.hits);
    expect(loader.counts.get('cn-foreign-url', 'reject', 'monitor')).toBe(2);
    const text = await registry.metrics();
    expect(text).toContain('smppguard_rule_matches_total{rule="cn-foreign-url",action="reject",mode="monitor"} 2');
    expect(text).toMatch(/smppguard_rules_info\{version="[0-9a-f]{12}"\} 1/);
    expect(text).toContain('smppguard_rules_last_reload_success 1');
  });
});

describe('rates', () => {
  const set = ruleSet(`version: 1
rules:
  - id: flood
    description: identical content
    match: { rate: { per: content_recipient, window: 1m, max: 2 } }
    action: { reject: { status: ESME_RTHROTTLED, reason: flood } }
  - id: daily
    description: per recipient per day, commercial
    match: { class: commercial, rate: { per: recipient, window: 1d, max: 50 } }
    action: { reject: { status: ESME_RTHROTTLED, reason: daily } }
  - id: sender-minute
    description: per sender per minute
    match: { rate: { per: sender, window: 60s, max: 1000 } }
    action: { reject: { status: ESME_RTHROTTLED, reason: sender_rate } }
  - id: spread
    description: unique recipients per sender per day
    mode: monitor
    match: { rate: { per: sender, window: 1d, max: 10000, distinct: recipient } }
    action: { reject: { status: ESME_RTHROTTLED, reason: spread } }
  - id: stop-otp
    description: otp stops here
    match: { class: otp }
    action: forward
  - id: pair
    description: per sender and recipient, after the otp stop
    match: { rate: { per: sender_recipient, window: 1h, max: 5 } }
    action: { reject: { status: ESME_RTHROTTLED, reason: pair } }
`);

  it('names the counters the message touches, with their windows', () => {
    const needs = set.rateNeeds(ctx({ text: 'hello' }), INITIAL);
    expect(needs.map((n) => [n.key.replace(/:content:[0-9a-f]{16}:/, ':content:<hash>:'), n.periodMs, n.kind, n.member])).toEqual([
      // Content counters live with the recipient's other counters (one Redis hash per recipient).
      ['rate:recipient:8613800138000:content:<hash>:60', 60_000, 'count', undefined],
      ['rate:recipient:8613800138000:86400', 86_400_000, 'count', undefined],
      ['rate:sender:861069001:60', 60_000, 'count', undefined],
      ['rate:sender:861069001:86400:distinct', 86_400_000, 'distinct', '8613800138000'],
      ['rate:sender_recipient:861069001:8613800138000:3600', 3_600_000, 'count', undefined],
    ]);
  });

  it('skips counters of rules whose other conditions fail or that a final rule hides', () => {
    const keys = set.rateNeeds(ctx(), { class: 'otp', category: null, labels: [] }).map((n) => n.key.split(':').slice(0, 2).join(':'));
    expect(keys).toEqual(['rate:recipient', 'rate:sender', 'rate:sender']);
  });

  it('hands the store each counter\'s entity and field (key = entity + field)', () => {
    const needs = set.rateNeeds(ctx({ text: 'hello' }), INITIAL);
    for (const n of needs) expect(n.entity! + n.field!).toBe(n.key);
    expect(needs.map((n) => n.entity)).toEqual([
      'rate:recipient:8613800138000',
      'rate:recipient:8613800138000',
      'rate:sender:861069001',
      'rate:sender:861069001',
      'rate:sender_recipient:861069001:8613800138000',
    ]);
    expect(needs[0]!.field).toMatch(/^:content:[0-9a-f]{16}:60$/);
  });

  it('identical content (after normalisation) shares a counter; other content does not', () => {
    const k = (text: string) => set.rateNeeds(ctx({ text }), INITIAL)[0]!.key;
    expect(k('Hello World')).toBe(k('ＨＥＬＬＯ  world'));
    expect(k('Hello World')).not.toBe(k('Hello there'));
  });

  it('a rate holds when the counter exceeds max', () => {
    const c = ctx({ text: 'hello' });
    const needs = set.rateNeeds(c, INITIAL);
    const at = (n: number) => set.evaluate(c, INITIAL, new Map([[needs[1]!.key, n]])).final?.rule ?? null;
    expect(needs[1]!.key).toBe('rate:recipient:8613800138000:86400');
    expect(at(50)).toBe(null);
    expect(at(51)).toBe('daily');
    expect(set.evaluate(c, INITIAL, new Map()).final).toBe(null);
  });

  it('rejects bad windows and distinct per recipient', () => {
    expect(errorsOf(oneRule('{ rate: { per: sender, window: 2w, max: 1 } }'))[0]).toMatch(/rules\.yaml:5:\d+: .*window: expected a window/);
    expect(errorsOf(oneRule('{ rate: { per: recipient, window: 1d, max: 1, distinct: recipient } }'))[0]).toMatch(/distinct: recipient counts recipients per sender or per account/);
  });

  it('parses durations', () => {
    expect([parseDuration('60s'), parseDuration('1m'), parseDuration('1h'), parseDuration('1d'), parseDuration('0s'), parseDuration('1w')]).toEqual([
      60_000, 60_000, 3_600_000, 86_400_000, null, null,
    ]);
  });
});

describe('time windows', () => {
  // 2026-11-28T13:30:00Z = 21:30 in Shanghai, 19:00 in Kolkata, 08:30 in New York (EST), 13:30 in London
  const T = Date.parse('2026-11-28T13:30:00Z');
  const zones = 'zones: { "1212": America/New_York }\n';
  const set = ruleSet(oneRule('{ time: { outside: "08:00-21:00", tz: recipient } }', zones));

  it.each([
    ['8613800138000', true],
    ['919812345678', false],
    ['12125550100', false],
    ['447700900123', false],
  ])('recipient %s outside 08:00-21:00 local: %s', (dst, outside) => {
    expect(matches(set, ctx({ dst, now: T }))).toBe(outside);
  });

  it('unknown prefixes use default_zone (UTC unless set)', () => {
    expect(matches(set, ctx({ dst: '99912345', now: Date.parse('2026-11-28T22:00:00Z') }))).toBe(true);
    const tokyo = ruleSet(oneRule('{ time: { outside: "08:00-21:00" } }', 'default_zone: Asia/Tokyo\n'));
    const t = Date.parse('2026-11-28T03:00:00Z'); // 03:00 UTC, 12:00 in Tokyo
    expect(matches(set, ctx({ dst: '99912345', now: t }))).toBe(true);
    expect(matches(tokyo, ctx({ dst: '99912345', now: t }))).toBe(false);
  });

  it('a named zone, inside, and windows across midnight', () => {
    const inside = ruleSet(oneRule('{ time: { inside: "22:00-06:00", tz: Asia/Shanghai } }'));
    expect(matches(inside, ctx({ now: Date.parse('2026-11-28T15:00:00Z') }))).toBe(true); // 23:00
    expect(matches(inside, ctx({ now: Date.parse('2026-11-28T21:59:00Z') }))).toBe(true); // 05:59
    expect(matches(inside, ctx({ now: Date.parse('2026-11-28T22:00:00Z') }))).toBe(false); // 06:00
  });

  it('follows daylight saving time', () => {
    expect(minuteOfDay('America/New_York', Date.parse('2026-07-01T12:00:00Z'))).toBe(8 * 60);
    expect(minuteOfDay('America/New_York', Date.parse('2026-12-01T12:00:00Z'))).toBe(7 * 60);
    expect(minuteOfDay('Asia/Kathmandu', Date.parse('2026-12-01T00:00:00Z'))).toBe(5 * 60 + 45);
  });

  it('window and zone helpers', () => {
    const w = parseHours('21:00-08:00')!;
    expect([withinHours(22 * 60, w), withinHours(7 * 60, w), withinHours(12 * 60, w)]).toEqual([true, true, false]);
    expect(parseHours('08:00-08:00')).toBe(null);
    expect(parseHours('8-21')).toBe(null);
    const z = new ZoneTable({ '1212': 'America/New_York' }, 'UTC');
    expect([z.zoneOf('8613800138000'), z.zoneOf('12125550100'), z.zoneOf('13105550100')]).toEqual(['Asia/Shanghai', 'America/New_York', 'UTC']);
  });

  it('refuses unknown zones', () => {
    expect(errorsOf(oneRule('{ time: { outside: "08:00-21:00", tz: Mars/Base } }')).join('\n')).toMatch(/tz: expected recipient or an IANA zone/);
    expect(errorsOf(oneRule('{}', 'zones: { "86": Nowhere/City }\n')).join('\n')).toMatch(/rules\.yaml:2:\d+: zones\.86: not an IANA time zone/);
  });
});

describe('DLT templates', () => {
  const file = `# DLT
T1|ACMEBK|T|Dear {#var#}, your OTP is {#numeric#}. -ACME
T2|ACMEBK,ACMEBN|P|Sale: {#var#}% off   till {#var#}
T3|*|SI|Your parcel {#var#} is out for delivery
`;
  it('compiles literal text and placeholders into an anchored RE2', () => {
    const re = compileTemplate('Pay INR {#var#} (ref {#numeric#}) now.');
    expect(re.test('Pay INR 500.00 (ref 123) now.')).toBe(true);
    expect(re.test('Pay INR 500.00 (ref abc) now.')).toBe(false);
    expect(re.test('xPay INR 5 (ref 1) now.')).toBe(false);
    expect(re.test(`Pay INR ${'9'.repeat(31)} (ref 1) now.`)).toBe(false);
  });

  it('matches by the template id for the sender, or any of the sender\'s templates', () => {
    const { templates, errors } = parseTemplates(file, 'dlt.txt');
    expect(errors).toEqual([]);
    const idx = new TemplateIndex(templates);
    expect(idx.match('Dear Ravi, your OTP is 4821. -ACME', 'ACMEBK', 'T1', null)?.id).toBe('T1');
    expect(idx.match('Dear Ravi, your OTP is 4821. -ACME', 'ACMEBN', 'T1', null)).toBe(null); // not this header's
    expect(idx.match('Dear Ravi, your OTP is 4821. -ACME', 'ACMEBK', 'T2', null)).toBe(null); // wrong template
    expect(idx.match('Sale: 20% off till Monday', 'ACMEBN', null, null)?.id).toBe('T2'); // whitespace runs match
    expect(idx.match('Your parcel 123 is out for delivery', 'ANYONE', null, null)?.id).toBe('T3');
    expect(idx.match('Sale: 20% off till Monday', 'ACMEBK', null, new Set(['transactional']))).toBe(null);
  });

  it('reports bad template lines with file:line', () => {
    const { errors } = parseTemplates('T1|A|X|text\nT2|A|T\nT3|A|T|ok\nT3|A|T|again\n', 'dlt.txt');
    expect(errors).toEqual([
      'dlt.txt:1:1: unknown template type "X" (T, SI, SE or P)',
      'dlt.txt:2:1: expected id|sender[,sender…]|type|text',
      'dlt.txt:4:1: template id T3 appears twice',
    ]);
  });

  it('template: matches / mismatch through the TLV', () => {
    const yes = ruleSet(oneRule('{ template: { list: dlt, matches: true } }', 'templates: { dlt: dlt.txt }\n'), { 'dlt.txt': file });
    const no = ruleSet(oneRule('{ template: { list: dlt, matches: false, tlv: 0x1401 } }', 'templates: { dlt: dlt.txt }\n'), { 'dlt.txt': file });
    const msg = { src: { kind: 'alpha' as const, value: 'ACMEBK' }, text: 'Dear Ravi, your OTP is 4821. -ACME' };
    expect(matches(yes, ctx({ ...msg, tlvs: { 0x1401: 'T1' } }))).toBe(true);
    expect(matches(no, ctx({ ...msg, tlvs: { 0x1401: 'T1' } }))).toBe(false);
    expect(matches(yes, ctx({ ...msg, tlvs: { 0x1401: 'T2' } }))).toBe(false);
    expect(matches(no, ctx({ ...msg, tlvs: { 0x1401: 'T2' } }))).toBe(true);
    expect(matches(no, ctx({ ...msg, tlvs: { 0x1401: 'NOPE' } }))).toBe(true);
    expect(matches(yes, ctx(msg))).toBe(true); // no TLV: any of the header's templates
    expect(matches(no, ctx({ ...msg, text: 'Dear Ravi, you won a prize' }))).toBe(true);
  });
});

describe('RE2', () => {
  it('a catastrophic-backtracking pattern over 64 KB of hostile text finishes at once', () => {
    const set = ruleSet(oneRule('{ text: { regex: "(a+)+$" } }'));
    const hostile = `${'a'.repeat(64 * 1024)}!`;
    const t0 = performance.now();
    expect(matches(set, ctx({ text: hostile }))).toBe(false);
    expect(performance.now() - t0).toBeLessThan(100);
  });

  it('normalisation and URL extraction stay linear on hostile text too', () => {
    const set = ruleSet(oneRule('{ any: [{ text: { contains_any: [free] } }, { urls: { present: true } }, { signature: present }] }'));
    const hostile = `${'a.'.repeat(32 * 1024)}-`;
    const t0 = performance.now();
    set.evaluate(ctx({ text: hostile }), INITIAL, new Map());
    expect(performance.now() - t0).toBeLessThan(500);
  });
});
