/**
 * Rate counters against the real Redis on 127.0.0.1:6379 (unique key prefix per run), with the
 * window index driven by a fake clock.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { RECENT_CAP, type RateNeed } from '../../src/domain/store-facts.js';
import { rateEntity } from '../../src/store/rate-layout.js';
import { RateStore } from '../../src/store/rates.js';
import { hashTag as hashTagOf } from '../../src/store/slots.js';
import { connectRedis, createRedis, type Redis } from '../../src/store/redis.js';
import { freePort, PrivateRedis } from '../helpers/private-redis.js';
import { clearKeys } from '../helpers/redis-keys.js';

const PREFIX = `test:rates:${process.pid}:${randomBytes(4).toString('hex')}:`;
const MIN = 60_000;
const DAY = 86_400_000;
const T0 = Math.floor(1_700_000_000_000 / DAY) * DAY; // a day boundary

let redis: Redis;

beforeAll(async () => {
  redis = createRedis({ url: 'redis://127.0.0.1:6379', command_timeout_ms: 2000 });
  redis.on('error', () => undefined);
  expect(await connectRedis(redis, 5000)).toBe(true);
});

afterAll(async () => {
  await clearKeys(redis, `${PREFIX}*`);
  redis.disconnect();
});

function fakeClock(t = T0) {
  return { t, now() { return this.t; } };
}

const perMinute = (msisdn: string): RateNeed => ({ key: `rate:recipient:${msisdn}:60`, periodMs: MIN, kind: 'count' });
const perDay = (msisdn: string): RateNeed => ({ key: `rate:recipient:${msisdn}:86400`, periodMs: DAY, kind: 'count' });
const distinctRecipients = (sender: string, member: string): RateNeed => ({
  key: `rate:sender-recipients:${sender}:3600`,
  periodMs: 3_600_000,
  kind: 'distinct',
  member,
});

/** Counts the script calls (EVAL/EVALSHA) this client sends while `fn` runs. */
async function scriptCalls<T>(fn: () => Promise<T>): Promise<{ value: T; calls: number; names: string[] }> {
  const spy = vi.spyOn(redis, 'sendCommand');
  try {
    const value = await fn();
    const names = spy.mock.calls.map((c) => (c[0] as { name: string }).name);
    return { value, calls: names.filter((n) => n === 'evalsha' || n === 'eval').length, names };
  } finally {
    spy.mockRestore();
  }
}

describe('RateStore', () => {
  it('counts messages in a window and returns the value after the increment', async () => {
    const store = new RateStore(redis, PREFIX, { clock: fakeClock() });
    const need = perMinute('8613800000001');
    expect((await store.bump([need])).get(need.key)).toBe(1);
    expect((await store.bump([need])).get(need.key)).toBe(2);
    expect((await store.bump([need])).get(need.key)).toBe(3);
    // One hash per entity; the counter's field names its window's end and holds the count.
    expect(store.keyFor(need)).toBe(`${PREFIX}{rate:recipient:8613800000001}:n`);
    expect(await redis.hgetall(store.keyFor(need))).toEqual({ [`:60@${T0 + MIN}`]: '3' });
  });

  it('starts a new window at the window boundary (fixed windows aligned to the window size)', async () => {
    const clock = fakeClock(T0 + 30_000);
    const store = new RateStore(redis, PREFIX, { clock });
    const minute = perMinute('8613800000002');
    const day = perDay('8613800000002');
    const both = [minute, day];
    expect([...(await store.bump(both)).values()]).toEqual([1, 1]);
    clock.t = T0 + 59_999;
    expect([...(await store.bump(both)).values()]).toEqual([2, 2]);
    clock.t = T0 + 60_000; // next minute window, same day window
    const r = await store.bump(both);
    expect(r.get(minute.key)).toBe(1);
    expect(r.get(day.key)).toBe(3);
    // Both counters of the recipient are fields of one key.
    expect(store.keyFor(minute)).toBe(store.keyFor(day));
    expect(await redis.hgetall(store.keyFor(day))).toMatchObject({ [`:60@${T0 + MIN}`]: '2', [`:60@${T0 + 2 * MIN}`]: '1', [`:86400@${T0 + DAY}`]: '3' });
    clock.t = T0 + DAY; // next day
    expect([...(await store.bump(both)).values()]).toEqual([1, 1]);
  });

  it('instances share a window\'s count; clocks that straddle a boundary each count in their own window, neither resets the other', async () => {
    const one = new RateStore(redis, PREFIX, { clock: fakeClock(T0 + 10_000) });
    const other = new RateStore(redis, PREFIX, { clock: fakeClock(T0 + 20_000) });
    const need = perMinute('8613800000017');
    expect((await one.bump([need])).get(need.key)).toBe(1);
    expect((await other.bump([need])).get(need.key)).toBe(2);
    const ahead = new RateStore(redis, PREFIX, { clock: fakeClock(T0 + MIN + 500) });
    const behind = new RateStore(redis, PREFIX, { clock: fakeClock(T0 + MIN - 500) });
    expect((await ahead.bump([need])).get(need.key)).toBe(1);
    expect((await behind.bump([need])).get(need.key)).toBe(3);
    expect((await ahead.bump([need])).get(need.key)).toBe(2);
    expect(await redis.hgetall(ahead.keyFor(need))).toMatchObject({ [`:60@${T0 + MIN}`]: '3', [`:60@${T0 + 2 * MIN}`]: '2' });
  });

  it('counts distinct members over a sliding window (recent): who left the window stops counting, a burst across a boundary counts whole', async () => {
    const clock = fakeClock(T0 + 9 * MIN);
    const store = new RateStore(redis, PREFIX, { clock });
    const need = (m: string): RateNeed => ({ key: 'camp:t:x:s:600', periodMs: 10 * MIN, kind: 'recent', member: m, entity: 'camp:t:x', field: ':s:600' });
    const bump = async (m: string) => (await store.bump([need(m)])).get('camp:t:x:s:600');
    expect(await bump('a')).toBe(1);
    expect(await bump('b')).toBe(2);
    // Across the 10-minute boundary: a fixed window would start again at 1.
    clock.t = T0 + 11 * MIN;
    expect(await bump('c')).toBe(3);
    expect(await bump('a')).toBe(3); // seen again: still 3, and a's time renewed
    // b (last seen at 9 min) is more than 10 minutes old now; a was renewed at 11.
    clock.t = T0 + 19 * MIN + 1;
    expect(await bump('d')).toBe(3); // a, c, d
    const ttl = await redis.pttl(store.keyFor(need('x')));
    expect(ttl).toBeGreaterThan(10 * MIN);
    expect(ttl).toBeLessThanOrEqual(10 * MIN + 5_000);
    // Bounded: beyond RECENT_CAP members the oldest go, and the count reads the cap.
    for (let i = 0; i < RECENT_CAP + 5; i++) await store.bump([need(`m${i}`)]);
    expect(await redis.zcard(store.keyFor(need('x')))).toBe(RECENT_CAP);
    expect(await bump('last')).toBe(RECENT_CAP);
  });

  it('counts distinct members with a HyperLogLog', async () => {
    const store = new RateStore(redis, PREFIX, { clock: fakeClock() });
    const bump = async (m: string) => (await store.bump([distinctRecipients('1069001', m)])).get('rate:sender-recipients:1069001:3600');
    expect(await bump('8613800000001')).toBe(1);
    expect(await bump('8613800000002')).toBe(2);
    expect(await bump('8613800000001')).toBe(2);
    expect(await bump('8613800000003')).toBe(3);
    const key = store.keyFor(distinctRecipients('1069001', 'x'));
    expect(key).toMatch(/:d:\d+$/);
    expect(await redis.pfcount(key)).toBe(3);
  });

  it('gives every key a TTL of the rest of its window plus the slack', async () => {
    const clock = fakeClock(T0 + 45_000);
    const store = new RateStore(redis, PREFIX, { clock, slackMs: 5_000 });
    const count = perMinute('8613800000004');
    const distinct = distinctRecipients('1069004', 'a');
    await store.bump([count, distinct]);
    const countTtl = await redis.pttl(store.keyFor(count));
    expect(countTtl).toBeGreaterThan(15_000 + 5_000 - 1_000);
    expect(countTtl).toBeLessThanOrEqual(15_000 + 5_000);
    const hourLeft = 3_600_000 - 45_000;
    const distinctTtl = await redis.pttl(store.keyFor(distinct));
    expect(distinctTtl).toBeGreaterThan(hourLeft + 5_000 - 1_000);
    expect(distinctTtl).toBeLessThanOrEqual(hourLeft + 5_000);
    // Later bumps keep the deadline (the window's end), they do not push it out.
    clock.t += 10_000;
    await store.bump([count]);
    expect(await redis.pttl(store.keyFor(count))).toBeLessThanOrEqual(countTtl);
  });

  it('keeps an entity\'s hash as long as its longest running window, not shorter', async () => {
    const clock = fakeClock(T0 + 45_000);
    const store = new RateStore(redis, PREFIX, { clock, slackMs: 5_000 });
    const minute = perMinute('8613800000014');
    const day = perDay('8613800000014');
    await store.bump([minute, day]);
    const dayLeft = DAY - 45_000 + 5_000;
    expect(await redis.pttl(store.keyFor(day))).toBeGreaterThan(dayLeft - 1_000);
    // A new minute window ends before the day: the hash keeps the day's deadline.
    // (TTLs run on Redis's clock: only milliseconds have passed there.)
    clock.t += MIN;
    expect((await store.bump([minute])).get(minute.key)).toBe(1);
    expect(await redis.pttl(store.keyFor(day))).toBeGreaterThan(dayLeft - 1_000);
    expect((await store.bump([day])).get(day.key)).toBe(2);

    // The other way round: a hash made by a minute counter lives a minute, until a day counter
    // starts in it and pushes the deadline out to the day's end.
    const minute2 = perMinute('8613800000018');
    const day2 = perDay('8613800000018');
    clock.t = T0 + 45_000;
    await store.bump([minute2]);
    expect(await redis.pttl(store.keyFor(minute2))).toBeLessThanOrEqual(15_000 + 5_000);
    await store.bump([day2]);
    expect(await redis.pttl(store.keyFor(day2))).toBeGreaterThan(dayLeft - 1_000);
  });

  it('purges fields of ended windows from an entity that gets many distinct counters', async () => {
    const clock = fakeClock(T0);
    const store = new RateStore(redis, PREFIX, { clock, slackMs: 5_000 });
    const content = (i: number): RateNeed => ({ key: `rate:recipient:8613800000015:content:${i}:60`, periodMs: MIN, kind: 'count', entity: 'rate:recipient:8613800000015', field: `:content:${i}:60` });
    const day = perDay('8613800000015');
    // 30 minutes with 40 distinct contents each: 1,200 fields made, the hash stays small.
    let most = 0;
    for (let m = 0; m < 30; m++) {
      clock.t = T0 + m * MIN + 10_000; // past the slack: the last minute's fields are dead
      for (let i = 0; i < 40; i++) {
        const r = await store.bump([content(m * 1000 + i), day]);
        expect(r.get(day.key)).toBe(m * 40 + i + 1);
      }
      most = Math.max(most, await redis.hlen(store.keyFor(day)));
    }
    // Live: this minute's 40 and the day (41); a purge keeps those and comes again after 64 more
    // new fields than it kept: at most 41 + 41 + 65, plus "#".
    expect(most).toBeLessThanOrEqual(41 + 41 + 65 + 1);
    expect(most).toBeGreaterThan(41);
    // A repeated content in the current window counts on.
    expect((await store.bump([content(29 * 1000 + 3)])).get(`rate:recipient:8613800000015:content:${29 * 1000 + 3}:60`)).toBe(2);
  });

  it('does the plain path\'s after-bump work in calls of at most 128 hashes, each hash pushed out and counted as one call for all would', async () => {
    const clock = fakeClock(T0);
    const store = new RateStore(redis, PREFIX, { clock, slackMs: 5_000 });
    const keys: string[] = [];
    for (let i = 0; i < 300; i++) {
      const k = store.keyFor(perDay(`86138001${String(i).padStart(5, '0')}`));
      await redis.hset(k, 'a@1', 1, '#', 64); // one more made field takes it past 64: a purge
      await redis.pexpire(k, 60_000);
      keys.push(k);
    }
    // Each bump's latest window ends with the day; keys[1]'s before the TTL it has; keys[3]'s TTL stays (0).
    const ends = keys.map((_, i) => (i === 1 ? T0 + 1_000 : i === 3 ? 0 : T0 + DAY));
    const r = await scriptCalls(() => store.fieldsMade(keys, keys.map(() => 1), ends));
    expect(r.value).toBe(300);
    expect(r.calls).toBe(3); // 128 + 128 + 44
    // Every hash was purged as in one call: its dead field gone, "#" minus the fields kept (none).
    for (const k of [keys[0]!, keys[150]!, keys[299]!]) expect(await redis.hgetall(k)).toEqual({ '#': '0' });
    // The TTL runs to the bump's end plus the slack (the horizon is the clock's now − slack), never shorter.
    for (const k of [keys[0]!, keys[150]!, keys[299]!]) expect(await redis.pttl(k)).toBeGreaterThan(DAY + 5_000 - 1_000);
    for (const k of [keys[1]!, keys[3]!]) {
      expect(await redis.pttl(k)).toBeGreaterThan(50_000);
      expect(await redis.pttl(k)).toBeLessThanOrEqual(60_000);
    }
    expect(await redis.hget(keys[3]!, '#')).toBe('0'); // its bookkeeping done all the same
    // A hash that expired meanwhile is not made again (it would have no TTL).
    await redis.del(keys[2]!);
    await expect(store.fieldsMade([keys[2]!], [1], [T0 + DAY])).resolves.toBe(1);
    expect(await redis.exists(keys[2]!)).toBe(0);
    // "#" stays an integer when nothing was kept (Lua's -0 was written "-0", which HINCRBY refuses).
    await expect(store.fieldsMade([keys[0]!], [1], [T0 + DAY])).resolves.toBe(1);
    expect(await redis.hget(keys[0]!, '#')).toBe('1');
  });

  it('pushes a hash\'s TTL out after a plain bump only when the bump made a field of its latest window end', () => {
    const store = new RateStore(redis, PREFIX, { clock: fakeClock() });
    const now = T0 + 45_000;
    const minuteEnd = T0 + MIN;
    const dayEnd = T0 + DAY;
    const needs = [perMinute('8613800000040'), perDay('8613800000040'), perMinute('8613800000041')];
    // The day's field made (a first commercial message in a hash a service message made): out to the day.
    expect(store.pushOutTo(needs, 0, 2, [1, 1], now)).toBe(dayEnd);
    expect(store.pushOutTo(needs, 0, 2, [3, 1], now)).toBe(dayEnd);
    // The day already counting, a new minute's field made: the hash lives to the day's end already.
    expect(store.pushOutTo(needs, 0, 2, [1, 7], now)).toBe(0);
    // One field: out if it was made. Two ending last together: out if either was.
    expect(store.pushOutTo(needs, 0, 1, [1], now)).toBe(minuteEnd);
    expect(store.pushOutTo([needs[0]!, needs[2]!], 0, 2, [4, 1], now)).toBe(minuteEnd);
    expect(store.pushOutTo([needs[0]!, needs[2]!], 0, 2, [4, 2], now)).toBe(0);
    // Only the group's own needs count.
    expect(store.pushOutTo(needs, 1, 2, [1, 5, 1], now)).toBe(0);
  });

  it('keys every window of one entity into one slot, and sends all counters of a turn in one call on one Redis', async () => {
    const store = new RateStore(redis, PREFIX, { clock: fakeClock() });
    const msisdn = '8613800000005';
    const same = [perMinute(msisdn), perDay(msisdn), { key: `rate:recipient:${msisdn}:3600`, periodMs: 3_600_000, kind: 'count' as const }];
    const tags = new Set(same.map((n) => hashTagOf(store.keyFor(n))));
    expect(tags).toEqual(new Set([`rate:recipient:${msisdn}`]));
    const one = await scriptCalls(() => store.bump(same));
    expect(one.calls).toBe(1);
    expect(one.names.filter((n) => n !== 'evalsha' && n !== 'eval')).toEqual([]);
    expect([...one.value.values()]).toEqual([1, 1, 1]);

    // Three entities (three slots on a cluster): still one call on a single Redis, each value right.
    const mixed = [...same, distinctRecipients('1069005', msisdn), { key: 'rate:account:acme:60', periodMs: MIN, kind: 'count' as const }];
    const three = await scriptCalls(() => store.bump(mixed));
    expect(new Set(mixed.map((n) => hashTagOf(store.keyFor(n)))).size).toBe(3);
    expect(three.calls).toBe(1);
    expect(Object.fromEntries(three.value)).toEqual({
      [`rate:recipient:${msisdn}:60`]: 2,
      [`rate:recipient:${msisdn}:86400`]: 2,
      [`rate:recipient:${msisdn}:3600`]: 2,
      'rate:sender-recipients:1069005:3600': 1,
      'rate:account:acme:60': 1,
    });
  });

  it('batches the counters of several messages of one turn into one call, each message getting its own values', async () => {
    const store = new RateStore(redis, PREFIX, { clock: fakeClock() });
    const need = perMinute('8613800000016');
    const both = await scriptCalls(() => Promise.all([store.bump([need]), store.bump([need])]));
    expect(both.calls).toBe(1);
    expect(both.value.map((m) => m.get(need.key))).toEqual([1, 2]);
  });

  it('bumps a counter listed twice only once, and does nothing for no needs', async () => {
    const store = new RateStore(redis, PREFIX, { clock: fakeClock() });
    const need = perMinute('8613800000006');
    expect((await store.bump([need, { ...need }])).get(need.key)).toBe(1);
    const none = await scriptCalls(() => store.bump([]));
    expect(none.calls).toBe(0);
    expect(none.value.size).toBe(0);
  });

  it('keeps a hash tag the rule already chose, and groups by the slot Redis will compute', async () => {
    const store = new RateStore(redis, PREFIX, { clock: fakeClock() });
    const a: RateNeed = { key: '{r:42}:rate:recipient:60', periodMs: MIN, kind: 'count' };
    const b: RateNeed = { key: '{r:42}:rate:recipient-content:abc:60', periodMs: MIN, kind: 'count' };
    expect(store.keyFor(a)).toBe(`${PREFIX}{r:42}:n`);
    const r = await scriptCalls(() => store.bump([a, b]));
    expect(r.calls).toBe(1);
    expect([...r.value.values()]).toEqual([1, 1]);
    expect(Object.keys(await redis.hgetall(`${PREFIX}{r:42}:n`)).sort()).toEqual([`{r:42}:rate:recipient-content:abc:60@${T0 + MIN}`, `{r:42}:rate:recipient:60@${T0 + MIN}`]);
  });

  it('finds the entity: only a trailing segment equal to the window is stripped', () => {
    expect(rateEntity('rate:recipient:8613800138000:86400', DAY)).toBe('rate:recipient:8613800138000');
    expect(rateEntity('rate:recipient:8613800138000:60000', MIN)).toBe('rate:recipient:8613800138000');
    expect(rateEntity('rate:sender:1069', MIN)).toBe('rate:sender:1069');
    expect(rateEntity('rate:account:acme', MIN)).toBe('rate:account:acme');
    expect(hashTagOf('a{}b')).toBe('a{}b');
    expect(hashTagOf('a{x}b{y}')).toBe('x');
  });

  it('rejects a need without a usable window', async () => {
    const store = new RateStore(redis, PREFIX, { clock: fakeClock() });
    await expect(store.bump([{ key: 'rate:x:0', periodMs: 0, kind: 'count' }])).rejects.toThrow(RangeError);
  });

  it('rejects at once when nothing listens where Redis should be', async () => {
    const down = createRedis({ url: `redis://127.0.0.1:${await freePort()}`, command_timeout_ms: 300 });
    down.on('error', () => undefined);
    try {
      const store = new RateStore(down, PREFIX, { clock: fakeClock() });
      const t0 = Date.now();
      await expect(store.bump([perMinute('8613800000007')])).rejects.toThrow();
      expect(Date.now() - t0).toBeLessThan(1000);
    } finally {
      down.disconnect();
    }
  });

  it('rejects within the command timeout when Redis stops answering', async () => {
    const priv = await PrivateRedis.start();
    const client = createRedis({ url: priv.url, command_timeout_ms: 200 });
    client.on('error', () => undefined);
    try {
      expect(await connectRedis(client, 5000)).toBe(true);
      const store = new RateStore(client, PREFIX, { clock: fakeClock() });
      const need = perMinute('8613800000008');
      expect((await store.bump([need])).get(need.key)).toBe(1);
      priv.freeze();
      const t0 = Date.now();
      await expect(store.bump([need])).rejects.toThrow(/timed out/i);
      const took = Date.now() - t0;
      expect(took).toBeGreaterThanOrEqual(150);
      expect(took).toBeLessThan(1000);
    } finally {
      priv.thaw();
      client.disconnect();
      await priv.stop();
    }
  });
});
