import { describe, expect, it } from 'vitest';
import type { StoreFacts, StoreQuery } from '../../src/domain/store-facts.js';
import { runDecision, type DecisionInput, type DecisionOutcome, type CounterValues, type StoreRequest } from '../../src/decision/driver.js';
import type { RateNeed } from '../../src/domain/store-facts.js';
import type { RuleSet } from '../../src/rules/engine.js';
import { ctx, ruleSet, sender } from '../rules/helpers.js';

const PACK = `version: 1
rules:
  - id: spam
    description: spam words
    match: { text: { contains_any: [lottery] } }
    action: { reject: { status: 0x401, reason: spam_content } }
  - id: marketing
    description: marketing words are commercial
    match: { text: { contains_any: [sale] } }
    action: { tag: { class: commercial, category: 2 } }
  - id: receipts
    description: receipts are service messages
    match: { text: { contains_any: [receipt] } }
    action: { tag: { class: service } }
  - id: daily
    description: commercial per recipient per day
    match: { class: commercial, rate: { per: recipient, window: 1d, max: 3 } }
    action: { reject: { status: ESME_RTHROTTLED, reason: daily_cap } }
  - id: accept-brand
    description: the brand's own messages are fine by the rules
    match: { signature: present }
    action: forward
`;
const set = ruleSet(PACK);
const GRANTED: StoreFacts = { dnd: false, dndCategory: false, consent: ['g:0', null, null] };
const NOTHING: StoreFacts = { dnd: false, dndCategory: false, consent: [null, null, null] };

function input(over: Partial<DecisionInput> & { text?: string; cls?: 'commercial' | 'service' | 'otp' } = {}): DecisionInput {
  const { text = 'hello', cls = 'commercial', ...rest } = over;
  const s = sender({ class: cls });
  return {
    ctx: ctx({ text, sender: s, senderClass: cls }),
    recipient: { kind: 'number', value: '8613800138000' },
    accountClass: 'commercial',
    messageClass: null,
    category: null,
    rules: set,
    trace: [],
    ...rest,
  };
}

/** runDecision against a store that answers at once (as rule tests do): the outcome comes back at once. */
function decideNow(i: DecisionInput, st: ReturnType<typeof store>): DecisionOutcome {
  let later = false;
  const o = runDecision(
    i,
    {
      fetchThen: (req, to) => to.answer(null, req.query ? st.facts(req.query) : null, req.needs.length ? st.counters(req.needs) : null),
    },
    () => (later = true),
  );
  expect(later).toBe(false);
  return o!;
}

/** runDecision against a store that answers by promise (as Redis does): the outcome, or at once when no store call was needed. */
interface Reply {
  counters: CounterValues;
  facts: StoreFacts | null;
}

function decideLater(i: DecisionInput, st: { fetch(req: StoreRequest): Promise<Reply> }): DecisionOutcome | Promise<DecisionOutcome> {
  let resolve!: (o: DecisionOutcome) => void;
  const later = new Promise<DecisionOutcome>((r) => (resolve = r));
  const now = runDecision(
    i,
    { fetchThen: (req, to) => void st.fetch(req).then((r) => to.answer(null, r.facts, r.counters), (e: unknown) => to.answer(e, null, null)) },
    resolve,
  );
  return now ?? later;
}

function store(facts: StoreFacts, counters: Record<string, number> = {}) {
  const calls: { counters: RateNeed[][]; facts: StoreQuery[] } = { counters: [], facts: [] };
  return {
    calls,
    counters(needs: RateNeed[]) {
      calls.counters.push(needs);
      return new Map(needs.map((n) => [n.key, counters[n.key] ?? 1]));
    },
    facts(q: StoreQuery) {
      calls.facts.push(q);
      return facts;
    },
  };
}

describe('runDecision', () => {
  it('sender authorization comes first: an unregistered sender never reaches the rules', () => {
    const st = store(GRANTED);
    const o = decideNow(input({ text: 'lottery', ctx: ctx({ text: 'lottery', sender: null }) }), st);
    expect(o).toMatchObject({ action: 'reject', reason: 'sender_unregistered', status: 0x0a, rule: 'policy/sender-authorization', hits: [] });
    expect(st.calls.counters.length + st.calls.facts.length).toBe(0);
  });

  it('a rule reject decides with its own status and reason, without asking consent', () => {
    const st = store(GRANTED);
    const o = decideNow(input({ text: 'win the lottery' }), st);
    expect(o).toMatchObject({ action: 'reject', reason: 'spam_content', status: 0x401, rule: 'spam' });
    expect(st.calls.facts).toHaveLength(0);
  });

  it('a rule forward only means "rules accept": consent still applies to commercial messages', () => {
    const without = decideNow(input({ text: '【ACME商城】hi' }), store(NOTHING));
    expect(without).toMatchObject({ action: 'reject', reason: 'no_consent', rule: 'policy/consent' });
    expect(without.hits.map((h) => h.rule)).toEqual(['accept-brand']);
    const withConsent = decideNow(input({ text: '【ACME商城】hi' }), store(GRANTED));
    expect(withConsent).toMatchObject({ action: 'forward', reason: 'consent_granted', rule: 'accept-brand', status: 0 });
  });

  it('a tag to commercial on a service port is service_port_marketing; the category reaches the consent query', () => {
    const o = decideNow(input({ text: 'big sale', cls: 'service' }), store(GRANTED));
    expect(o).toMatchObject({ action: 'reject', reason: 'service_port_marketing', status: 0x103, class: 'commercial', category: 2 });
    const st = store(NOTHING);
    decideNow(input({ text: 'big sale' }), st);
    expect(st.calls.facts.at(-1)).toMatchObject({ msisdn: '8613800138000', category: 2 });
  });

  it('a tag to service skips consent', () => {
    const st = store(NOTHING);
    const o = decideNow(input({ text: 'your receipt' }), st);
    expect(o).toMatchObject({ action: 'forward', reason: 'not_commercial', class: 'service', rule: 'policy/classification' });
    expect(st.calls.facts).toHaveLength(0);
  });

  it('rates: counters come from the store; over max rejects', () => {
    const key = 'rate:recipient:8613800138000:86400';
    expect(decideNow(input(), store(GRANTED, { [key]: 3 })).action).toBe('forward');
    const o = decideNow(input(), store(GRANTED, { [key]: 4 }));
    expect(o).toMatchObject({ action: 'reject', reason: 'daily_cap', status: 0x58, rule: 'daily' });
  });

  it('counters and consent come in one round trip for a message that starts out commercial', async () => {
    const reqs: StoreRequest[] = [];
    const o = await decideLater(input(), {
      fetch: async (req) => {
        reqs.push(req);
        return { counters: new Map(req.needs.map((n) => [n.key, 1])), facts: req.query ? GRANTED : null };
      },
    });
    expect(o).toMatchObject({ action: 'forward', reason: 'consent_granted' });
    expect(reqs).toHaveLength(1);
    expect(reqs[0]!.needs.map((n) => n.key)).toEqual(['rate:recipient:8613800138000:86400']);
    expect(reqs[0]!.query?.scopes).toEqual(['sender:number:861069001', 'brand:ACME商城', 'account:acme']);
  });

  it('is synchronous when the store is not needed', () => {
    const o = decideLater(input({ text: 'lottery' }), { fetch: () => Promise.reject(new Error('unused')) });
    expect(o).toMatchObject({ action: 'reject', reason: 'spam_content' });
  });

  it('store failures: rates read 0, consent fails closed or open per class', async () => {
    const down = { fetch: () => Promise.reject(new Error('redis down')) };
    const closed = await decideLater(input(), down);
    expect(closed).toMatchObject({ action: 'reject', reason: 'store_unavailable', status: 0x08, rule: 'policy/store' });
    expect(closed.trace).toContain('rate counters unavailable: rate conditions read 0');
    const open = await decideLater(input({ failOpen: ['commercial'] }), down);
    expect(open).toMatchObject({ action: 'forward', reason: 'fail_open' });
  });

  it('config status overrides apply to policy reasons', () => {
    const o = decideNow(input({ statusOf: (r) => (r === 'no_consent' ? 0x420 : 0x45) }), store(NOTHING));
    expect(o).toMatchObject({ reason: 'no_consent', status: 0x420 });
  });

  it('without rules it is the policy as before', () => {
    expect(decideNow(input({ rules: null, text: 'lottery' }), store(GRANTED))).toMatchObject({ action: 'forward', reason: 'consent_granted' });
  });

  it('a queue rule holds what would be forwarded and lets consent refuse the rest', () => {
    const q: RuleSet = ruleSet(
      'version: 1\nrules:\n  - { id: hold, description: review links, match: { urls: { present: true } }, action: { queue: review } }\n',
      {},
      { allowQueue: true },
    );
    const held = decideNow(input({ rules: q, text: 'see x.cn/a' }), store(GRANTED));
    expect(held).toMatchObject({ action: 'queue', reason: 'queued_review', queue: 'review', rule: 'hold', status: 0 });
    const refused = decideNow(input({ rules: q, text: 'see x.cn/a' }), store(NOTHING));
    expect(refused).toMatchObject({ action: 'reject', reason: 'no_consent' });
  });

  it('explains itself step by step', () => {
    const o = decideNow(input({ text: 'big sale 【ACME商城】' }), store(GRANTED));
    expect(o.trace).toEqual([
      'sender 861069001 matches registration number:861069001 (account acme, class commercial, active)',
      'rule marketing matched: tag class=commercial category=2',
      'rule accept-brand matched: forward',
      'message class commercial (sender registration)',
      'commercial: consent needed in one of sender:number:861069001, brand:ACME商城, account:acme',
      'consent sender:number:861069001: granted at 1970-01-01T00:00:00.000Z',
      'forward: commercial message with the recipient\'s explicit consent',
    ]);
  });
});
