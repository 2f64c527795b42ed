/**
 * `behaviour:` rule conditions, pure: validation (one signal, only its own settings, top level
 * only, not with rate), the profile need a message makes (per account and sender; shared by rules
 * reading the same thing), judging a value in words, and the suspend action.
 */
import { describe, expect, it } from 'vitest';
import { packBaseline, packReceipts, pack, unpack, baselineOf, receiptsOf } from '../../src/domain/behaviour.js';
import { compileBehaviour, judge, trips } from '../../src/rules/behaviour.js';
import { ctx, errorsOf, INITIAL, ruleSet } from './helpers.js';

const rule = (behaviour: string, extra = '') => `version: 1
rules:
  - id: b
    description: t
    ${extra}match: { behaviour: ${behaviour} }
    action: { suspend: {} }
`;

describe('validation', () => {
  it.each([
    ['{ sequential_recipients_over: 50 }', 'sequential_recipients is counted per window: give window'],
    ['{ distinct_recipients_over: 10, sequential_recipients_over: 5, window: 1h }', 'give exactly one of'],
    ['{ window: 1h }', 'give exactly one of'],
    ['{ undeliverable_share_over: 0.5, window: 1h }', 'undeliverable_share has no window'],
    ['{ undeliverable_share_over: 1.5 }', 'Too big'],
    ['{ volume_over_baseline: 10, gap: 3 }', 'gap applies to sequential_recipients_over'],
    ['{ sequential_recipients_over: 50, window: 10m, gap: 40 }', 'Too big'],
    ['{ distinct_recipients_over: 50, window: 1h, min_receipts: 3 }', 'min_receipts applies to undeliverable_share_over'],
    ['{ sequential_recipients_over: 50, window: 10m, min_baseline: 3 }', 'min_baseline applies to volume_over_baseline'],
    ['{ sequential_recipients_over: 50, window: often }', 'expected a window'],
  ])('%s', (b, msg) => {
    expect(errorsOf(rule(b)).join('\n')).toContain(msg);
  });

  it('is refused inside any/all/not and together with rate', () => {
    const nested = `version: 1
rules:
  - id: b
    description: t
    match: { not: { behaviour: { distinct_recipients_over: 5, window: 1h } } }
    action: { suspend: {} }
`;
    expect(errorsOf(nested).join('\n')).toContain('behaviour is only allowed at the top level');
    const both = `version: 1
rules:
  - id: b
    description: t
    match: { rate: { per: sender, window: 1h, max: 5 }, behaviour: { distinct_recipients_over: 5, window: 1h } }
    action: { suspend: {} }
`;
    expect(errorsOf(both).join('\n')).toContain('a rule has either rate or behaviour');
  });

  it('suspend takes a status and a reason, with defaults; a bad status is an error', () => {
    const set = ruleSet(rule('{ sequential_recipients_over: 50, window: 10m }'));
    expect(set.rule('b')!.action).toEqual({ kind: 'suspend', status: 0x0a, reason: 'sender_suspended_behaviour' });
    expect(errorsOf(rule('{ sequential_recipients_over: 50, window: 10m }').replace('suspend: {}', 'suspend: { status: 0, reason: x }')).join('\n')).toContain('is not a rejection');
  });
});

describe('needs', () => {
  it('one need per account and sender profile; rules reading the same thing share it; each signal its own kind', () => {
    const set = ruleSet(`version: 1
rules:
  - { id: a, description: t, mode: monitor, match: { behaviour: { sequential_recipients_over: 50, window: 10m } }, action: { suspend: {} } }
  - { id: b, description: t, mode: monitor, match: { behaviour: { sequential_recipients_over: 80, window: 10m } }, action: { suspend: {} } }
  - { id: c, description: t, mode: monitor, match: { behaviour: { sequential_recipients_over: 50, window: 10m, gap: 5 } }, action: { suspend: {} } }
  - { id: d, description: t, mode: monitor, match: { behaviour: { undeliverable_share_over: 0.5 } }, action: { suspend: {} } }
  - { id: e, description: t, mode: monitor, match: { behaviour: { volume_over_baseline: 10 } }, action: { suspend: {} } }
  - { id: f, description: t, mode: monitor, match: { behaviour: { distinct_recipients_over: 9, window: 1h } }, action: { suspend: {} } }
`);
    const needs = set.rateNeeds(ctx(), INITIAL);
    expect(needs.map((n) => [n.kind, n.entity, n.field])).toEqual([
      ['sequence', 'bhv:acme:861069001', ':q:2:600'],
      ['sequence', 'bhv:acme:861069001', ':q:5:600'],
      ['receipts', 'bhv:acme:861069001', ':p'],
      ['baseline', 'bhv:acme:861069001', ':p'],
      ['distinct', 'bhv:acme:861069001', ':r:3600'],
    ]);
    expect(needs[0]!.member).toBe('8613800138000');
    expect(set.rateNeeds(ctx({ account: 'other' }), INITIAL)[0]!.entity).toBe('bhv:other:861069001');
    expect(set.signals).toEqual(new Set(['sequential_recipients', 'undeliverable_share', 'volume_over_baseline', 'distinct_recipients']));
  });

  it('a rule whose other conditions do not hold asks for nothing', () => {
    const set = ruleSet(`version: 1
rules:
  - { id: a, description: t, match: { destination_country: US, behaviour: { sequential_recipients_over: 50, window: 10m } }, action: { suspend: {} } }
`);
    expect(set.rateNeeds(ctx(), INITIAL)).toEqual([]);
  });

  it('an enforce suspend ends evaluation like reject and carries the evidence', () => {
    const set = ruleSet(`version: 1
rules:
  - { id: scan, description: t, match: { behaviour: { sequential_recipients_over: 50, window: 10m } }, action: { suspend: { reason: range_scan } } }
  - { id: later, description: t, match: {}, action: { tag: { label: never } } }
`);
    const c = ctx();
    const key = set.rateNeeds(c, INITIAL)[0]!.key;
    const trace: string[] = [];
    const out = set.evaluate(c, INITIAL, new Map([[key, 51]]), trace);
    expect(out.final?.rule).toBe('scan');
    expect(out.state.labels).toEqual([]);
    expect(out.behaviour).toEqual([{ rule: 'scan', signal: 'sequential_recipients', mode: 'enforce', text: 'sequential recipients: longest run 51 > 50 in 10m (gap 2)' }]);
    expect(trace).toContain('rule scan matched: suspend the sender and reject range_scan (status 0xa)');
    expect(set.evaluate(c, INITIAL, new Map([[key, 50]])).final?.rule).toBeUndefined();
  });
});

describe('judge', () => {
  it('says what it saw, for each signal', () => {
    const b = (y: Record<string, unknown>) => compileBehaviour(y);
    expect(judge(b({ distinct_recipients_over: 1000, window: '1h' }), 1001)).toEqual({ hit: true, text: 'distinct recipients 1001 > 1000 in 1h' });
    expect(judge(b({ undeliverable_share_over: 0.5, min_receipts: 200 }), packReceipts(200, 100))).toEqual({ hit: false, text: 'undeliverable 100/200 receipts = 50.0% <= 50.0%' });
    expect(judge(b({ undeliverable_share_over: 0.5 }), packReceipts(99, 99)).text).toBe('undeliverable 99/99 receipts: fewer than min_receipts 100');
    expect(judge(b({ volume_over_baseline: 10, min_baseline: 50 }), packBaseline(600, 20))).toEqual({
      hit: true,
      text: 'volume 600 this hour = 12.0x baseline 20.0 (floor min_baseline 50) > 10x',
    });
    expect(judge(b({ volume_over_baseline: 10 }), packBaseline(600, null))).toEqual({ hit: false, text: 'volume 600 this hour: no baseline for this hour yet' });
    expect(judge(b({ volume_over_baseline: 10 }), packBaseline(150, 100)).hit).toBe(false);
  });

  it('trips() (the hot path, no words) answers as judge().hit does, over every signal and many values', () => {
    const specs = [
      { distinct_recipients_over: 1000, window: '1h' },
      { sequential_recipients_over: 50, window: '10m' },
      { undeliverable_share_over: 0.5, min_receipts: 200 },
      { undeliverable_share_over: 0.1 },
      { volume_over_baseline: 10, min_baseline: 50 },
      { volume_over_baseline: 1.5 },
    ].map((y) => compileBehaviour(y));
    let hits = 0;
    for (const b of specs) {
      for (let i = 0; i < 2000; i++) {
        const a = (i * 7919) % 1500;
        const c = (i * 104_729) % 1200;
        const values = [a, packReceipts(a, c), packBaseline(a * 3, i % 5 === 0 ? null : c / 10)];
        for (const v of values) {
          expect(trips(b, v), `${b.signal} ${v}`).toBe(judge(b, v).hit);
          if (trips(b, v)) hits++;
        }
      }
    }
    expect(hits).toBeGreaterThan(1000);
  });

  it('packs pairs exactly and clamps', () => {
    expect(unpack(pack(1234, 5678))).toEqual({ hi: 1234, lo: 5678 });
    expect(unpack(pack(2e7, -3))).toEqual({ hi: 9_999_999, lo: 0 });
    expect(baselineOf(packBaseline(7, 0))).toEqual({ count: 7, baseline: 0 });
    expect(baselineOf(packBaseline(7, 12.34))).toEqual({ count: 7, baseline: 12.3 });
    expect(receiptsOf(pack(10, 20))).toEqual({ total: 10, undeliverable: 10 });
  });
});
