/**
 * Sender behaviour profiles against the real Redis on 127.0.0.1:6379 (unique key prefix): each
 * `behaviour:` signal computed by behaviour.lua in the message's one round trip (PolicyCheck
 * fetchThen, on both hot-path transports: the plain-command pipe and the batched script), receipts
 * written through BehaviourStore, baselines injected through the store with a controllable clock.
 * Must-show (issue 18): 100 consecutive recipients caught, 100 random ones not; 60 % undeliverable
 * of the last 200 receipts flagged, 10 % not; 10× the hourly baseline flagged, 1.5× not; normal
 * traffic matches nothing; every key has a TTL.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { RateNeed, StoreQuery } from '../../src/domain/store-facts.js';
import type { RuleSet } from '../../src/rules/engine.js';
import type { RuleContext, RuleOutcome } from '../../src/rules/types.js';
import { BehaviourStore } from '../../src/store/behaviour-store.js';
import { DndGeneration } from '../../src/store/dnd-generation.js';
import { PolicyCheck } from '../../src/store/policy-check.js';
import { RateStore } from '../../src/store/rates.js';
import { connectRedis, createRedis, type Redis } from '../../src/store/redis.js';
import { RespPipe } from '../../src/store/resp-pipe.js';
import { ctx, INITIAL, ruleSet } from '../rules/helpers.js';
import { clearKeys, keysMatching } from '../helpers/redis-keys.js';

const PREFIX = `test:bhv:${process.pid}:${randomBytes(4).toString('hex')}:`;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
// 10:30 UTC on a day boundary-aligned date: hour of day 10.
const T0 = Math.floor(1_780_000_000_000 / DAY) * DAY + 10 * HOUR + 30 * 60_000;
let now = T0;
const clock = { now: () => now };

let redis: Redis;
let pipe: RespPipe;
let rates: RateStore;
let piped: PolicyCheck;
let scripted: PolicyCheck;
let profiles: BehaviourStore;

beforeAll(async () => {
  redis = createRedis({ url: 'redis://127.0.0.1:6379', command_timeout_ms: 2000 });
  redis.on('error', () => undefined);
  expect(await connectRedis(redis, 5000)).toBe(true);
  rates = new RateStore(redis, PREFIX, { clock, behaviour: { alpha: 0.25, minDays: 3, ttlMs: 8 * DAY } });
  pipe = new RespPipe('redis://127.0.0.1:6379', 2000);
  const gen = new DndGeneration(redis, PREFIX);
  piped = new PolicyCheck(redis, PREFIX, gen, rates, pipe);
  scripted = new PolicyCheck(redis, PREFIX, gen, rates);
  profiles = new BehaviourStore(redis, PREFIX, { receiptsWindow: 200, ttlMs: 8 * DAY });
});

afterAll(async () => {
  await clearKeys(redis, `${PREFIX}*`);
  pipe.close();
  redis.disconnect();
});

const QUERY: StoreQuery = { msisdn: '8613800138000', scopes: ['sender:s1', 'account:acme'], category: null };

/** One message through its one round trip: the rules' needs (and a consent query) fetched, then decided. */
function decide(set: RuleSet, c: RuleContext, check = piped): Promise<RuleOutcome> {
  const f = set.facts(c, INITIAL);
  const needs = set.needsOf(f);
  return new Promise((resolve, reject) =>
    check.fetchThen({ ...QUERY, msisdn: c.dst }, needs, (err, _facts, values) => {
      if (err) return reject(err as Error);
      const byKey = new Map<string, number>(needs.map((n: RateNeed, i) => [n.key, values![i]!]));
      resolve(set.decide(f, byKey));
    }),
  );
}

const monitorPack = (match: string) => `version: 1
rules:
  - id: bhv
    description: behaviour test
    mode: monitor
    match: { class: commercial, behaviour: ${match} }
    action: { suspend: {} }
`;
const flagged = (o: RuleOutcome) => (o.behaviour ?? []).some((e) => e.rule === 'bhv');
const msg = (sender: string, dst: string, account = 'acme'): RuleContext => ctx({ account, src: { kind: 'number', value: sender }, dst, now });
const randomRecipient = () => `86138${String(randomInt(0, 100_000_000)).padStart(8, '0')}`;

describe('sequential recipients (号段扫号)', () => {
  const set = ruleSet(monitorPack('{ sequential_recipients_over: 50, window: 10m }'));

  it('catches a run of 100 consecutive recipients, from the 51st on, on the pipe transport', async () => {
    const hits: number[] = [];
    for (let i = 0; i < 100; i++) {
      const o = await decide(set, msg('861069100', `86138000${String(10_000 + i)}`));
      if (flagged(o)) hits.push(i);
    }
    expect(hits[0]).toBe(50);
    expect(hits).toHaveLength(50);
  });

  it('does not flag 100 random recipients (longest run stays tiny)', async () => {
    let last: RuleOutcome | null = null;
    for (let i = 0; i < 100; i++) {
      last = await decide(set, msg('861069101', randomRecipient()));
      expect(flagged(last)).toBe(false);
    }
    expect(last!.hits).toHaveLength(0);
  });

  it('tolerates out-of-order recipients, skipped numbers and random traffic interleaved with the scan (batched script)', async () => {
    const gapSet = ruleSet(monitorPack('{ sequential_recipients_over: 50, window: 10m, gap: 3 }'));
    // Neighbours swapped (1, 0, 3, 2, …), every 10th number skipped, a random recipient after every 3rd.
    const order: number[] = [];
    for (let i = 0; i < 100; i += 2) order.push(i + 1, i);
    const scan = order.filter((x) => x % 10 !== 7);
    let caught = -1;
    for (let k = 0; k < scan.length; k++) {
      const o = await decide(gapSet, msg('861069102', `86139000${String(10_000 + scan[k]!)}`), scripted);
      if (flagged(o) && caught < 0) caught = k;
      if (k % 3 === 0) await decide(gapSet, msg('861069102', randomRecipient()), scripted);
    }
    expect(caught).toBeGreaterThan(45);
    expect(caught).toBeLessThan(60);
  });

  it('repeats to one recipient or two alternating do not make a run', async () => {
    for (let i = 0; i < 120; i++) {
      const o = await decide(set, msg('861069103', `861380000${i % 2 === 0 ? '1000' : '1001'}`));
      expect(flagged(o)).toBe(false);
    }
  });

  it('each window starts afresh, and its state expires with the window', async () => {
    const keys = await keysMatching(redis, `${PREFIX}{bhv:acme:861069100}:q:*`);
    expect(keys.length).toBe(1);
    const ttl = await redis.pttl(keys[0]!);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(10 * 60_000 + 5_000);
    const saved = now;
    now += 10 * 60_000;
    try {
      const o = await decide(set, msg('861069100', '8613800010100'));
      expect(flagged(o)).toBe(false);
    } finally {
      now = saved;
    }
  });
});

describe('distinct recipients (HyperLogLog, the rate counters’ distinct machinery)', () => {
  const set = ruleSet(monitorPack('{ distinct_recipients_over: 50, window: 1h }'));

  it('flags a sender past 50 distinct recipients in the hour, not one sending as much to 5', async () => {
    let first = -1;
    for (let i = 0; i < 60; i++) {
      const o = await decide(set, msg('861069200', randomRecipient()));
      if (flagged(o) && first < 0) first = i;
    }
    expect(first).toBeGreaterThanOrEqual(48); // HLL: ~0.8 % standard error
    expect(first).toBeLessThanOrEqual(53);
    for (let i = 0; i < 60; i++) expect(flagged(await decide(set, msg('861069201', `8613800000${100 + (i % 5)}`)))).toBe(false);
  });

  it('keeps one profile per account and sender: the same number under another account starts at 0', async () => {
    const o = await decide(set, msg('861069200', randomRecipient(), 'other'));
    expect(flagged(o)).toBe(false);
  });
});

describe('undeliverable share over the last N receipts', () => {
  const set = ruleSet(monitorPack('{ undeliverable_share_over: 0.5, min_receipts: 200 }'));

  async function receipts(sender: string, total: number, badEvery: (i: number) => boolean): Promise<void> {
    for (let i = 0; i < total; i++) profiles.recordReceipt('acme', sender, badEvery(i));
    await profiles.flush();
  }

  it('flags a sender whose last 200 receipts are 60 % undeliverable, not one at 10 %', async () => {
    await receipts('861069300', 200, (i) => i % 5 < 3);
    await receipts('861069301', 200, (i) => i % 10 === 0);
    const bad = await decide(set, msg('861069300', randomRecipient()));
    expect(flagged(bad)).toBe(true);
    expect(bad.behaviour![0]!.text).toBe('undeliverable 120/200 receipts = 60.0% > 50.0%');
    const good = await decide(set, msg('861069301', randomRecipient()));
    expect(flagged(good)).toBe(false);
  });

  it('does not judge before min_receipts, and forgets old receipts as the ring turns', async () => {
    await receipts('861069302', 150, () => true);
    const early = await decide(set, msg('861069302', randomRecipient()));
    expect(flagged(early)).toBe(false);
    await receipts('861069302', 50, () => true);
    expect(flagged(await decide(set, msg('861069302', randomRecipient())))).toBe(true);
    // 200 good receipts later the ring (N = 200) holds only those.
    await receipts('861069302', 200, () => false);
    expect(await profiles.profile('acme', '861069302')).toMatchObject({ receipts: 200, undeliverable: 0 });
    expect(flagged(await decide(set, msg('861069302', randomRecipient())))).toBe(false);
  });

  it('writes a turn of receipts in one script call', async () => {
    const spy = vi.spyOn(redis, 'sendCommand');
    try {
      await receipts('861069303', 300, (i) => i % 2 === 0);
      const calls = spy.mock.calls.map((c) => (c[0] as { name: string }).name).filter((n) => n === 'evalsha' || n === 'eval');
      expect(calls).toHaveLength(1);
    } finally {
      spy.mockRestore();
    }
    expect(await profiles.profile('acme', '861069303')).toMatchObject({ receipts: 200, undeliverable: 100 });
  });
});

describe('volume this hour against the sender’s own baseline for the hour', () => {
  const set = ruleSet(monitorPack('{ volume_over_baseline: 5, min_baseline: 1 }'));

  it('flags a sender at 10x its injected baseline for this hour, not one at 1.5x', async () => {
    await profiles.setBaseline('acme', '861069400', 10, 20, 7);
    await profiles.setBaseline('acme', '861069401', 10, 20, 7);
    let firstHot = -1;
    for (let i = 1; i <= 200; i++) {
      const o = await decide(set, msg('861069400', randomRecipient()));
      if (flagged(o) && firstHot < 0) firstHot = i;
    }
    expect(firstHot).toBe(101); // 101 > 5 × 20
    for (let i = 1; i <= 30; i++) expect(flagged(await decide(set, msg('861069401', randomRecipient())))).toBe(false);
  });

  it('learns the baseline from traffic over days (EWMA per hour of day), and a new sender without history is never flagged', async () => {
    const saved = now;
    try {
      // Four days, 2 messages every hour, for two senders.
      for (let h = 0; h < 4 * 24; h++) {
        now = saved - 4 * DAY + h * HOUR;
        for (let k = 0; k < 2; k++) {
          await decide(set, msg('861069402', randomRecipient()));
          await decide(set, msg('861069403', randomRecipient()));
        }
      }
      now = saved;
      const p = await profiles.profile('acme', '861069402');
      expect(p!.baseline[10]).toEqual({ ewma: 2, days: 4 }); // 10:xx on each of the four days before
      let firstHot = -1;
      for (let i = 1; i <= 20; i++) {
        const o = await decide(set, msg('861069402', randomRecipient()));
        if (flagged(o) && firstHot < 0) firstHot = i;
      }
      expect(firstHot).toBe(11); // 11 > 5 × max(2, 1)
      for (let i = 1; i <= 3; i++) expect(flagged(await decide(set, msg('861069403', randomRecipient())))).toBe(false);
      // No history: 500 messages in its first hour are not judged.
      for (let i = 0; i < 50; i++) expect(flagged(await decide(set, msg('861069404', randomRecipient())))).toBe(false);
    } finally {
      now = saved;
    }
  });

  it('a silent day decays the baseline (zeros folded in closed form)', async () => {
    const saved = now;
    try {
      await profiles.setBaseline('acme', '861069405', 10, 40, 7);
      now = saved - 2 * DAY; // one message two days ago at 10:xx, then now: the day between was silent
      await decide(set, msg('861069405', randomRecipient()));
      now = saved;
      await decide(set, msg('861069405', randomRecipient()));
      const p = await profiles.profile('acme', '861069405');
      // 40 → fold 1 (two days ago's count): 0.25·1 + 0.75·40 = 30.25 → one silent day: 30.25·0.75 = 22.69
      expect(p!.baseline[10]!.ewma).toBeCloseTo(22.688, 2);
      expect(p!.baseline[10]!.days).toBe(9);
    } finally {
      now = saved;
    }
  });
});

describe('normal traffic and memory bounds', () => {
  const set = ruleSet(`version: 1
rules:
  - { id: seq, description: t, mode: monitor, match: { behaviour: { sequential_recipients_over: 50, window: 10m } }, action: { suspend: {} } }
  - { id: distinct, description: t, mode: monitor, match: { behaviour: { distinct_recipients_over: 1000, window: 1h } }, action: { suspend: {} } }
  - { id: undeliv, description: t, mode: monitor, match: { behaviour: { undeliverable_share_over: 0.5, min_receipts: 100 } }, action: { suspend: {} } }
  - { id: volume, description: t, mode: monitor, match: { behaviour: { volume_over_baseline: 10 } }, action: { suspend: {} } }
`);

  it('never matches a sender with random recipients, good receipts and a steady volume', async () => {
    for (let h = 0; h < 24; h++) await profiles.setBaseline('acme', '861069500', h, 40, 7);
    for (let i = 0; i < 300; i++) profiles.recordReceipt('acme', '861069500', i % 50 === 0);
    await profiles.flush();
    for (let i = 0; i < 60; i++) {
      const o = await decide(set, msg('861069500', randomRecipient()), i % 2 === 0 ? piped : scripted);
      expect(o.hits).toHaveLength(0);
      expect(o.behaviour).toBeUndefined();
    }
  });

  it('peek (explain) reads what the hot path answered, counting nothing (the baseline with the explained message)', async () => {
    const c = msg('861069500', randomRecipient());
    const needs = set.rateNeeds(c, INITIAL);
    const hot = await new Promise<number[]>((resolve, reject) => scripted.fetchThen(null, needs, (err, _f, v) => (err ? reject(err as Error) : resolve(v!))));
    const peeked = await profiles.peek(needs, now, 3);
    const again = await profiles.peek(needs, now, 3);
    expect(again).toEqual(peeked);
    expect(needs.map((n) => n.kind)).toEqual(['sequence', 'distinct', 'receipts', 'baseline']);
    expect(needs.map((n) => peeked.get(n.key))).toEqual([hot[0], hot[1], hot[2], hot[3]! + 10_000_000]);
  });

  it('every behaviour key has a TTL', async () => {
    const keys = await keysMatching(redis, `${PREFIX}{bhv:*`);
    expect(keys.length).toBeGreaterThan(10);
    for (const k of keys) expect(await redis.pttl(k), k).toBeGreaterThan(0);
  });
});
