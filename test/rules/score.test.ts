/**
 * The `score` match key: a learned model's spam probability above a threshold. Scored at most once
 * per message whatever the number of rules that read it, only when a rule's cheaper conditions let
 * the message through, and explained (score and n-grams) under explain's trace.
 */
import { describe, expect, it } from 'vitest';
import type { ScoreModel, ScoreModels } from '../../src/rules/types.js';
import { EN, trainOn } from '../helpers/labelled.js';
import { INITIAL, ctx, ruleSet } from './helpers.js';

/** A real model that counts how often it scores. */
function counted(): { models: ScoreModels; calls: () => number; model: ScoreModel } {
  const real = trainOn(EN, { epochs: 4 }).model();
  let calls = 0;
  const model: ScoreModel = {
    score: (plain) => {
      calls++;
      return real.score(plain);
    },
    explain: (norm, k) => real.explain(norm, k),
  };
  return { models: { has: (n) => n === 'spam', get: (n) => (n === 'spam' ? model : null) }, calls: () => calls, model };
}

const PACK = `version: 1
rules:
  - id: only-acme
    description: the score is read only for account acme (cheaper condition first)
    mode: monitor
    match: { account: other, score: { model: spam, above: 0.5 } }
    action: { reject: { reason: spam_score } }
  - id: watch
    description: monitor first
    mode: monitor
    match: { score: { model: spam, above: 0.5 } }
    action: { reject: { reason: spam_score } }
  - id: tag-likely
    description: tag
    match: { score: { model: spam, above: 0.3 } }
    action: { tag: { label: likely_spam } }
  - id: block
    description: enforce high
    match: { all: [ { score: { model: spam, above: 0.9 } }, { not: { text: { contains_any: [unsubscribe-me-not] } } } ] }
    action: { reject: { reason: spam_score_high } }
`;

describe('score: {model, above}', () => {
  it('scores once per message for every rule that reads it, not at all when cheaper conditions fail', () => {
    const { models, calls } = counted();
    const set = ruleSet(PACK, {}, { models });
    const spam = ctx({ text: 'WINNER! You have won a cash prize, call now to claim', scores: null });
    const f = set.facts(spam, INITIAL);
    set.needsOf(f);
    const out = set.decide(f, new Map());
    expect(calls()).toBe(1);
    expect(out.hits.map((h) => h.rule)).toEqual(['watch', 'tag-likely', 'block']);
    expect(out.final?.rule).toBe('block');
    expect(out.state.labels).toEqual(['likely_spam']);
    expect(spam.scores).toHaveLength(1);
    expect(spam.scores![0]).toMatchObject({ model: 'spam' });
    expect(spam.scores![0]!.p).toBeGreaterThan(0.9);

    const ham = ctx({ text: 'Are we still meeting for lunch tomorrow?', scores: null });
    expect(set.evaluate(ham, INITIAL, new Map()).hits).toEqual([]);
    expect(calls()).toBe(2);

    // A pack whose only score rule is for another account: the model is never asked.
    const { models: m2, calls: calls2 } = counted();
    const narrow = ruleSet(PACK.split('  - id: watch')[0]!, {}, { models: m2 });
    narrow.evaluate(ctx({ text: 'WINNER cash prize' }), INITIAL, new Map());
    expect(calls2()).toBe(0);
  });

  it('the same text again (bulk traffic) is not scored again', () => {
    const { models, calls } = counted();
    const set = ruleSet(PACK, {}, { models });
    for (let i = 0; i < 5; i++) set.evaluate(ctx({ text: 'FREE entry, txt WIN to 80086 now' }), INITIAL, new Map());
    expect(calls()).toBe(1);
  });

  it('explain: the trace shows the score and the n-grams that pushed it most', () => {
    const { models } = counted();
    const set = ruleSet(PACK, {}, { models });
    const trace: string[] = [];
    set.evaluate(ctx({ text: 'Claim your FREE prize now, call 09061701461', trace }), INITIAL, new Map(), trace);
    const line = trace.find((l) => l.startsWith('score spam:'));
    expect(line).toMatch(/^score spam: 0\.\d{4}; n-grams that pushed it most: "[^"]+" [+-]\d+\.\d\d(, "[^"]+" [+-]\d+\.\d\d){4}$/);
    expect(trace).toContain('rule block matched: reject spam_score_high (status 0x45)');
  });

  it('a configured model that is not loaded: the condition does not hold (and explain says so)', () => {
    const models: ScoreModels = { has: () => true, get: () => null };
    const set = ruleSet(PACK, {}, { models });
    const trace: string[] = [];
    const out = set.evaluate(ctx({ text: 'WINNER cash prize', trace }), INITIAL, new Map(), trace);
    expect(out.hits).toEqual([]);
    expect(trace).toContain('score spam: model not loaded; the condition does not hold');
  });
});
