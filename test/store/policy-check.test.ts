/**
 * The per-turn round trip of the policy check: consent/DND checks and rate counters of every
 * message of one event-loop turn in one script call, or one batch of plain commands on the pipe,
 * against the real Redis on 127.0.0.1:6379 (unique key prefix per run). The consent and DND
 * records are written through PolicyAdmin, sharing the check's DND generation.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { StoreFacts, StoreQuery } from '../../src/domain/store-facts.js';
import type { RateNeed } from '../../src/domain/store-facts.js';
import { PolicyAdmin } from '../../src/store/policy-admin.js';
import { PolicyCheck } from '../../src/store/policy-check.js';
import { RateStore } from '../../src/store/rates.js';
import { connectRedis, createRedis, type Redis } from '../../src/store/redis.js';
import { RespPipe } from '../../src/store/resp-pipe.js';
import { clearKeys } from '../helpers/redis-keys.js';

const PREFIX = `test:batch:${process.pid}:${randomBytes(4).toString('hex')}:`;
const MIN = 60_000;
const DAY = 86_400_000;
const T0 = Math.floor(1_700_000_000_000 / DAY) * DAY + 30_000;
const actor = { who: 'test' };

let redis: Redis;
let rates: RateStore;
let store: PolicyCheck;
let admin: PolicyAdmin;

beforeAll(async () => {
  redis = createRedis({ url: 'redis://127.0.0.1:6379', command_timeout_ms: 2000 });
  redis.on('error', () => undefined);
  expect(await connectRedis(redis, 5000)).toBe(true);
  rates = new RateStore(redis, PREFIX, { clock: { now: () => T0 } });
  admin = new PolicyAdmin(redis, PREFIX, DAY);
  store = new PolicyCheck(redis, PREFIX, admin.generation, rates);
});

afterAll(async () => {
  await clearKeys(redis, `${PREFIX}*`);
  redis.disconnect();
});

type Answer = { err: unknown; facts: StoreFacts | null; counters: number[] | null };
const fetch = (q: StoreQuery | null, counters: RateNeed[] | null) =>
  new Promise<Answer>((resolve) => store.fetchThen(q, counters, (err, facts, c) => resolve({ err, facts, counters: c })));

async function scriptCalls<T>(fn: () => Promise<T>): Promise<{ value: T; calls: number }> {
  const spy = vi.spyOn(redis, 'sendCommand');
  try {
    const value = await fn();
    const names = spy.mock.calls.map((c) => (c[0] as { name: string }).name);
    return { value, calls: names.filter((n) => n === 'evalsha' || n === 'eval').length };
  } finally {
    spy.mockRestore();
  }
}

const perMinute = (msisdn: string): RateNeed => ({ key: `rate:recipient:${msisdn}:60`, periodMs: MIN, kind: 'count' });
const perDay = (msisdn: string): RateNeed => ({ key: `rate:recipient:${msisdn}:86400`, periodMs: DAY, kind: 'count' });
const distinct = (sender: string, member: string): RateNeed => ({ key: `rate:sender:${sender}:3600:distinct`, periodMs: 3_600_000, kind: 'distinct', member });
const query = (msisdn: string): StoreQuery => ({ msisdn, scopes: ['sender:s1', 'brand:ACME', 'account:esme'], category: null });

/**
 * After the first test's batch (a and c to ...001: a minute bumped twice and a day; b to ...002: a
 * minute): the keys are the RateStore's (one hash per recipient), the TTL runs to the end of the
 * longest window in the hash (the day's) plus slack, and rates.lua counts on from the same keys.
 */
async function expectRateLayout(rs: RateStore): Promise<void> {
  const key = rs.keyFor(perMinute('8613900000001'));
  expect(await redis.hget(key, `:60@${T0 - 30_000 + MIN}`)).toBe('2');
  const ttl = await redis.pttl(key);
  expect(ttl).toBeGreaterThan(DAY - 30_000);
  expect(ttl).toBeLessThanOrEqual(DAY - 30_000 + 5_000);
  const ttlB = await redis.pttl(rs.keyFor(perMinute('8613900000002')));
  expect(ttlB).toBeGreaterThan(30_000);
  expect(ttlB).toBeLessThanOrEqual(35_000);
  expect((await rs.bump([perMinute('8613900000001')])).get(perMinute('8613900000001').key)).toBe(3);
}

describe('PolicyCheck.fetchThen', () => {
  it('checks consent and bumps counters of every message of one turn in one script call', async () => {
    await admin.setConsent('8613900000001', 'brand:ACME', 'granted', actor);
    await admin.addDnd('8613900000002', null, actor);
    const a = [perMinute('8613900000001'), perDay('8613900000001')];
    const b = [perMinute('8613900000002'), distinct('1069', '8613900000002')];
    const c = [perMinute('8613900000001')]; // a counter-only message (no policy check)
    const r = await scriptCalls(() => Promise.all([fetch(query('8613900000001'), a), fetch(query('8613900000002'), b), fetch(null, c), fetch(query('8613900000003'), null)]));
    expect(r.calls).toBe(1);
    const [ra, rb, rc, rd] = r.value;
    expect(ra.err).toBeNull();
    expect(ra.facts?.consent[1]).toMatch(/^g:\d+$/);
    expect(ra.facts?.dnd).toBe(false);
    expect(ra.counters).toEqual([1, 1]);
    expect(rb.facts).toEqual({ dnd: true, dndCategory: false, consent: [null, null, null] });
    expect(rb.counters).toEqual([1, 1]);
    expect(rc.facts).toBeNull();
    expect(rc.counters).toEqual([2]); // the same minute counter as message a, bumped after it
    expect(rd.facts).toEqual({ dnd: false, dndCategory: false, consent: [null, null, null] });
    expect(rd.counters).toBeNull();
    await expectRateLayout(rates);
  });

  it('writes a full batch to Redis at once, not at the end of the event-loop turn', async () => {
    // Redis works on the first 256 messages while the gateway decides the rest of a long turn
    // (auto-pipelining would hold the call until setImmediate).
    const spy = vi.spyOn(redis, 'sendCommand');
    try {
      const answers: Promise<Answer>[] = [];
      for (let i = 0; i < 255; i++) answers.push(fetch(query(`86139100${String(i).padStart(5, '0')}`), null));
      expect(spy).not.toHaveBeenCalled();
      answers.push(fetch(query('8613910099999'), null));
      expect(spy).toHaveBeenCalledTimes(1); // synchronously, within this turn
      for (const a of await Promise.all(answers)) expect(a.err).toBeNull();
    } finally {
      spy.mockRestore();
    }
  });

  it('sends counters whose keys the batch cannot carry (TAB, newline) on their own, with the same values', async () => {
    const odd: RateNeed = { key: 'rate:sender:My\tShop:60', periodMs: MIN, kind: 'count' };
    const first = await fetch(query('8613900000009'), [odd, perMinute('8613900000009')]);
    expect(first.err).toBeNull();
    expect(first.counters).toEqual([1, 1]);
    expect(first.facts?.consent).toEqual([null, null, null]);
    expect((await fetch(null, [odd]))).toMatchObject({ err: null, counters: [2] });
    // A key listed twice goes on its own too, bumped once, both needs getting its value.
    const twice = await scriptCalls(() => fetch(null, [perMinute('8613900000009'), perDay('8613900000009'), perMinute('8613900000009')]));
    expect(twice.value).toMatchObject({ err: null, counters: [2, 1, 2] });
    expect(twice.calls).toBe(1); // rates.lua, not the batched policy call
  });

  it('gives each need its own value when one entity\'s counters are not next to each other', async () => {
    const sender: RateNeed = { key: 'rate:sender:1069:60', periodMs: MIN, kind: 'count' };
    const needs = [perMinute('8613900000010'), sender, distinct('1070', '8613900000010'), perDay('8613900000010')];
    const first = await scriptCalls(() => fetch(query('8613900000010'), needs));
    expect(first.calls).toBe(1);
    expect(first.value.counters).toEqual([1, 1, 1, 1]);
    expect((await fetch(null, [perDay('8613900000010'), sender, perMinute('8613900000010')])).counters).toEqual([2, 2, 2]);
  });

  it('answers nothing-to-ask at once, and refuses a number the script could not read', async () => {
    expect(await fetch(null, null)).toEqual({ err: null, facts: null, counters: null });
    const bad = await fetch({ ...query('8613900000001'), msisdn: '0x10' }, null);
    expect(bad.err).toBeInstanceOf(RangeError);
  });
});

describe('PolicyCheck.fetchThen on the plain-command pipe', () => {
  const clock = { t: T0, now: () => clock.t };
  let pipeRates: RateStore;
  let pipe: RespPipe;
  let ps: PolicyCheck;
  let pAdmin: PolicyAdmin;
  const pfetch = (q: StoreQuery | null, counters: RateNeed[] | null, s = ps) =>
    new Promise<Answer>((resolve) => s.fetchThen(q, counters, (err, facts, c) => resolve({ err, facts, counters: c })));

  beforeAll(async () => {
    pipeRates = new RateStore(redis, `${PREFIX}p:`, { clock });
    pipe = new RespPipe('redis://127.0.0.1:6379', 2000);
    expect(await pipe.whenReady(3000)).toBe(true);
    pAdmin = new PolicyAdmin(redis, `${PREFIX}p:`, DAY);
    ps = new PolicyCheck(redis, `${PREFIX}p:`, pAdmin.generation, pipeRates, pipe);
  });
  afterAll(() => pipe.close());

  it('answers like the script: one batch of plain commands, same values, key layout and TTLs', async () => {
    await pAdmin.setConsent('8613900000001', 'brand:ACME', 'granted', actor);
    await pAdmin.addDnd('8613900000002', null, actor);
    await pAdmin.addDnd('8613900000002', 3, actor);
    const a = [perMinute('8613900000001'), perDay('8613900000001')];
    const b = [perMinute('8613900000002'), distinct('1069', '8613900000002')];
    const c = [perMinute('8613900000001')];
    const sends = vi.spyOn(pipe, 'send');
    const r = await scriptCalls(() =>
      Promise.all([pfetch(query('8613900000001'), a), pfetch({ ...query('8613900000002'), category: 3 }, b), pfetch(null, c), pfetch(query('8613900000003'), null)]),
    );
    const batches = sends.mock.calls.length;
    sends.mockRestore();
    expect(r.calls).toBe(0);
    expect(batches).toBe(1);
    const [ra, rb, rc, rd] = r.value;
    expect(ra.err).toBeNull();
    expect(ra.facts?.consent[1]).toMatch(/^g:\d+$/);
    expect(ra.counters).toEqual([1, 1]);
    expect(rb.facts).toEqual({ dnd: true, dndCategory: true, consent: [null, null, null] });
    expect(rb.counters).toEqual([1, 1]);
    expect(rc).toEqual({ err: null, facts: null, counters: [2] });
    expect(rd).toEqual({ err: null, facts: { dnd: false, dndCategory: false, consent: [null, null, null] }, counters: null });
    expect(await redis.pttl(pipeRates.keyFor(distinct('1069', '8613900000002')))).toBeGreaterThan(0);
    await expectRateLayout(pipeRates);
  });

  it('carries any name (TAB, newline, UTF-8) in the batch; a key listed twice goes on its own', async () => {
    const odd: RateNeed = { key: 'rate:sender:My\tShop\n【店】:60', periodMs: MIN, kind: 'count' };
    const sends = vi.spyOn(pipe, 'send');
    const first = await pfetch(query('8613900000009'), [odd, perMinute('8613900000009')]);
    expect(sends).toHaveBeenCalledTimes(1);
    sends.mockRestore();
    expect(first).toMatchObject({ err: null, counters: [1, 1] });
    expect((await pipeRates.bump([odd])).get(odd.key)).toBe(2);
    const twice = await pfetch(null, [perMinute('8613900000009'), perDay('8613900000009'), perMinute('8613900000009')]);
    expect(twice).toMatchObject({ err: null, counters: [2, 1, 2] });
    // A non-ASCII scope, asked twice (its encoding is kept per scope list): found both times.
    await pAdmin.setConsent('8613900000019', 'brand:品牌', 'granted', actor);
    const scopes = ['sender:s1', 'brand:品牌'];
    for (let i = 0; i < 2; i++) {
      const r = await pfetch({ msisdn: '8613900000019', scopes, category: null }, [perMinute('8613900000019')]);
      expect(r).toMatchObject({ err: null, counters: [i + 1] });
      expect(r.facts?.consent[1]).toMatch(/^g:/);
    }
  });

  it('answers a message whose key has the wrong type with the error, and its neighbours normally', async () => {
    await redis.set(pipeRates.keyFor(perMinute('8613900000011')), 'not a hash');
    const [bad, good] = await Promise.all([pfetch(null, [perMinute('8613900000011')]), pfetch(null, [perMinute('8613900000012')])]);
    expect(String(bad.err)).toMatch(/WRONGTYPE/);
    expect(good).toEqual({ err: null, facts: null, counters: [1] });
  });

  it('pushes out the TTL of a hash that existed and got new fields after the batch, as the script does, with no GT in the batch', async () => {
    // A message counted per minute only makes the hash: it lives to the minute's end plus slack.
    const minute = perMinute('8613900000016');
    const day = perDay('8613900000016');
    // The call after the batch goes on the same client, and not at once: a PING on it is answered after it.
    const fetchSettled = (needs: RateNeed[]) => scriptCalls(async () => {
      const r = await pfetch(null, needs);
      await redis.ping();
      return r;
    });
    const sends = vi.spyOn(pipe, 'send');
    try {
      const made = await fetchSettled([minute]);
      expect(made.value.counters).toEqual([1]);
      expect(made.calls).toBe(0);
      const ttl = await redis.pttl(pipeRates.keyFor(minute));
      expect(ttl).toBeLessThanOrEqual(30_000 + 5_000);
      // Counted again in the same window: nothing new in the hash, nothing after the batch.
      const again = await fetchSettled([minute]);
      expect(again).toMatchObject({ value: { counters: [2] }, calls: 0 });
      // A message counted per minute and per day: the day's field is new in the existing hash, and
      // the one call after the batch pushes the hash's TTL out to the day's end.
      const both = await fetchSettled([minute, day]);
      expect(both).toMatchObject({ value: { counters: [3, 1] }, calls: 1 });
      expect(await redis.pttl(pipeRates.keyFor(day))).toBeGreaterThan(DAY - 30_000);
      // And never back in: a minute-only message after it leaves the day's TTL.
      await pfetch(null, [perMinute('8613900000016')]);
      expect(await redis.pttl(pipeRates.keyFor(day))).toBeGreaterThan(DAY - 30_000);
      const written = Buffer.concat(sends.mock.calls.flatMap((c) => (typeof c[0] === 'string' ? [Buffer.from(c[0])] : c[0]))).toString('latin1');
      expect(written).toContain('PEXPIRE');
      expect(written).not.toContain('$2\r\nGT\r\n');
    } finally {
      sends.mockRestore();
    }
  });

  it('purges dead fields of an existing hash after 64 made, as the script does', async () => {
    const entity = 'rate:recipient:8613900000015';
    const content = (i: number): RateNeed => ({ key: `${entity}:content:${i}:60`, periodMs: MIN, kind: 'count', entity, field: `:content:${i}:60` });
    const day = perDay('8613900000015');
    let most = 0;
    try {
      for (let m = 0; m < 12; m++) {
        clock.t = T0 + m * MIN + 10_000; // past the slack: the last minute's fields are dead
        for (let i = 0; i < 40; i++) expect((await pfetch(null, [content(m * 1000 + i), day])).counters).toEqual([1, m * 40 + i + 1]);
        most = Math.max(most, await redis.hlen(pipeRates.keyFor(day)));
      }
    } finally {
      clock.t = T0;
    }
    // The bookkeeping follows the batch's replies: at most one minute more than the script path's bound.
    expect(most).toBeLessThanOrEqual(41 + 41 + 65 + 40 + 1);
    expect(most).toBeGreaterThan(41);
  });

  it('sends the batch as one script call while the pipe is not connected', async () => {
    const down = new RespPipe('redis://127.0.0.1:1', 200);
    const fallback = new PolicyCheck(redis, `${PREFIX}p:`, pAdmin.generation, pipeRates, down);
    try {
      const r = await scriptCalls(() => Promise.all([pfetch(query('8613900000001'), [perMinute('8613900000020')], fallback), pfetch(null, [perMinute('8613900000020')], fallback)]));
      expect(r.calls).toBe(1);
      expect(r.value[0]).toMatchObject({ err: null, counters: [1] });
      expect(r.value[0]!.facts?.consent[1]).toMatch(/^g:/);
      expect(r.value[1]).toMatchObject({ err: null, counters: [2] });
    } finally {
      down.close();
    }
  });
});
