/**
 * The intelligence counters' shared tally (store/intel-tally.ts) against the real Redis on
 * 127.0.0.1:6379 (unique key prefix), two tallies standing for two gateway instances: each answers
 * warm counters in process, sends cold ones the round trip's way (here: RateStore.bump, the same
 * Lua), and shares what it counted through the flush. Checked: the values a message reads, what
 * Redis holds after a flush against what one-message-at-a-time counting leaves there, windows and
 * hours rolling, a failed flush keeping its counts, and the bounds.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RateNeed } from '../../src/domain/store-facts.js';
import { baselineOf, profileEntity } from '../../src/domain/behaviour.js';
import { IntelTally } from '../../src/store/intel-tally.js';
import { RateStore, type RawGroup } from '../../src/store/rates.js';
import { connectRedis, createRedis, type Redis } from '../../src/store/redis.js';
import { clearKeys } from '../helpers/redis-keys.js';

const PREFIX = `test:tally:${process.pid}:${randomBytes(4).toString('hex')}:`;
const HOUR = 3_600_000;
const T0 = Math.floor(1_780_000_000_000 / HOUR) * HOUR + 10 * 60_000;
let now = T0;
const clock = { now: () => now };

let redis: Redis;
let rates: RateStore;

beforeAll(async () => {
  redis = createRedis({ url: 'redis://127.0.0.1:6379', command_timeout_ms: 2000 });
  redis.on('error', () => undefined);
  expect(await connectRedis(redis, 5000)).toBe(true);
  rates = new RateStore(redis, PREFIX, { clock, behaviour: { alpha: 0.25, minDays: 1, ttlMs: 8 * 86_400_000 } });
});

afterAll(async () => {
  await clearKeys(redis, `${PREFIX}*`);
  redis.disconnect();
});

const tally = (over: Partial<ConstructorParameters<typeof IntelTally>[1]> = {}) => new IntelTally(rates, { now: clock.now, ...over });

/** One message's needs through a tally the way the decision layer does: warm ones here, cold ones in Redis, then seeded. */
async function send(t: IntelTally, needs: RateNeed[]): Promise<number[]> {
  const values = new Array<number>(needs.length);
  t.answer(needs, values);
  const cold = needs.filter((_, i) => Number.isNaN(values[i]));
  if (cold.length > 0) {
    const got = await rates.bump(cold);
    for (let i = 0; i < needs.length; i++) {
      if (!Number.isNaN(values[i])) continue;
      values[i] = got.get(needs[i]!.key)!;
      t.seed(needs[i]!, values[i]!);
    }
  }
  return values;
}

let n = 0;
const campaign = (member: string, entity = `camp:t:${n}`): RateNeed => ({ key: `${entity}:s:600`, periodMs: 600_000, kind: 'recent', member, entity, field: ':s:600' });
const sequence = (account: string, sender: string, to: string): RateNeed => {
  const entity = profileEntity(account, sender);
  return { key: `${entity}:q:2:600`, periodMs: 600_000, kind: 'sequence', member: to, entity, field: ':q:2:600' };
};
const spread = (account: string, sender: string, to: string, statistic = true): RateNeed => {
  const entity = profileEntity(account, sender);
  const need: RateNeed = { key: `${entity}:r:3600`, periodMs: HOUR, kind: 'distinct', member: to, entity, field: ':r:3600' };
  return statistic ? { ...need, statistic: true } : need;
};
const baseline = (account: string, sender: string): RateNeed => {
  const entity = profileEntity(account, sender);
  return { key: `${entity}:p:baseline`, periodMs: HOUR, kind: 'baseline', entity, field: ':p' };
};

describe('campaign senders (recent)', () => {
  it('a new member goes to Redis at once, so two instances count every sender exactly; repeats are answered here', async () => {
    n++;
    const a = tally();
    const b = tally();
    const seen: number[] = [];
    // Ten senders, alternately on the two instances, each sending three messages.
    for (let i = 0; i < 10; i++) {
      const t = i % 2 === 0 ? a : b;
      for (let k = 0; k < 3; k++) seen.push((await send(t, [campaign(`s${i}`)]))[0]!);
    }
    // The first message of sender i reads i + 1 (every instance's senders so far); its repeats no less.
    for (let i = 0; i < 10; i++) expect(seen[3 * i]).toBe(i + 1);
    expect(a.warm + b.warm).toBe(20);
    expect(a.cold + b.cold).toBe(10);
    // The repeats' times reach Redis with the flush (ZADD GT: never older than what it has).
    now += 1000;
    for (let i = 0; i < 10; i += 2) await send(a, [campaign(`s${i}`)]);
    await a.flush();
    const z = await redis.zrange(`${PREFIX}{camp:t:${n}}:s:600:z:600000`, '0', '-1', 'WITHSCORES');
    expect(z.length).toBe(20);
    const score = new Map<string, number>();
    for (let i = 0; i < z.length; i += 2) score.set(z[i]!, Number(z[i + 1]));
    expect(score.get('s0')).toBe(now);
    expect(score.get('s1')).toBe(now - 1000);
    expect(await redis.pttl(`${PREFIX}{camp:t:${n}}:s:600:z:600000`)).toBeGreaterThan(590_000);
  });

  it('members leave the window here as in Redis', async () => {
    n++;
    const a = tally();
    for (let i = 0; i < 5; i++) await send(a, [campaign(`s${i}`)]);
    now += 601_000;
    // All five left the window: a sixth sender reads 1, and s0 is new again (cold).
    expect(await send(a, [campaign('s5')])).toEqual([1]);
    const cold = a.cold;
    expect(await send(a, [campaign('s0')])).toEqual([2]);
    expect(a.cold).toBe(cold + 1);
    expect(a.size.members).toBe(2);
  });
});

describe('sender sequence', () => {
  it('a scan counted here reads the same run as counted message by message, and Redis ends with the same state', async () => {
    now = T0 + 5_000;
    const a = tally();
    const runs: number[] = [];
    for (let i = 0; i < 100; i++) runs.push((await send(a, [sequence('acc', '8610690001', String(8613900000000 + i))]))[0]!);
    expect(runs).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    await a.flush();
    // The same recipients one message at a time on another sender: the state Redis keeps is the same string.
    for (let i = 0; i < 100; i++) await rates.bump([sequence('acc', '8610690002', String(8613900000000 + i))]);
    const w = Math.floor(now / 600_000);
    const [s1, s2] = await Promise.all([
      redis.get(`${PREFIX}{${profileEntity('acc', '8610690001')}}:q:2:600:${w}`),
      redis.get(`${PREFIX}{${profileEntity('acc', '8610690002')}}:q:2:600:${w}`),
    ]);
    expect(s1).not.toBeNull();
    expect(s1).toBe(s2);
    // Another instance's first message reads the shared run (cold), then counts on from there.
    const b = tally();
    expect(await send(b, [sequence('acc', '8610690001', String(8613900000000 + 100))])).toEqual([101]);
  });

  it('random recipients stay short', async () => {
    const a = tally();
    let max = 0;
    for (let i = 0; i < 100; i++) max = Math.max(max, (await send(a, [sequence('acc', '8610690003', String(8613900000000 + ((i * 7_919_993) % 100_000_000)))]))[0]!);
    expect(max).toBeLessThan(5);
  });

  it('a new window starts over; what the old one counted still reaches Redis', async () => {
    now = Math.floor(T0 / 600_000) * 600_000 + 599_000;
    const a = tally();
    for (let i = 0; i < 10; i++) await send(a, [sequence('acc', '8610690004', String(8613900000000 + i))]);
    const w0 = Math.floor(now / 600_000);
    now += 2_000;
    expect(await send(a, [sequence('acc', '8610690004', String(8613900000000 + 10))])).toEqual([1]);
    await a.flush();
    const st = await redis.get(`${PREFIX}{${profileEntity('acc', '8610690004')}}:q:2:600:${w0}`);
    expect(st?.split(' ').at(-1)).toBe('10');
  });
});

describe('sender distinct recipients', () => {
  const hll = (sender: string) => `${PREFIX}{${profileEntity('acc', sender)}}:r:3600:d:${Math.floor(now / HOUR)}`;

  it('two instances: each counts its new recipients at once, a repeat not again; Redis has every one after the flush', async () => {
    now = T0 + 30_000;
    const a = tally();
    const b = tally();
    const seen: number[] = [];
    for (let i = 0; i < 50; i++) seen.push((await send(a, [spread('acc', '8610690030', `861390000${1000 + i}`)]))[0]!);
    expect(seen).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    // Repeats read the same count.
    for (let i = 0; i < 10; i++) expect(await send(a, [spread('acc', '8610690030', `861390000${1000 + i}`)])).toEqual([50]);
    expect(a.cold).toBe(1);
    // b's first message is cold and reads what Redis has (a's one cold recipient) plus its own.
    expect(await send(b, [spread('acc', '8610690030', '8613900009999')])).toEqual([2]);
    await Promise.all([a.flush(), b.flush()]);
    expect(await redis.pfcount(hll('8610690030'))).toBe(51);
    expect(await redis.pttl(hll('8610690030'))).toBeGreaterThan(0);
    // a's share brought b's recipient back with it: a repeat on a reads 51.
    expect(await send(a, [spread('acc', '8610690030', `861390000${1000}`)])).toEqual([51]);
    // b had only its cold recipient, so nothing to share: it reads a's 49 others with its next flush.
    expect(await send(b, [spread('acc', '8610690030', '8613900008888')])).toEqual([3]);
    await b.flush();
    expect(await send(b, [spread('acc', '8610690030', '8613900007777')])).toEqual([53]);
  });

  it('a bulk second of recipients goes in groups of at most 1,024, all of them reaching Redis; a sequence keeps its order', async () => {
    now = T0 + 400_000;
    const sizes: number[] = [];
    const counting = {
      baselineParams: rates.baselineParams,
      runGroups: (g: readonly RawGroup[]) => {
        for (const x of g) sizes.push(x.strings.length - 1);
        return rates.runGroups(g);
      },
    };
    const a = new IntelTally(counting, { now: clock.now });
    for (let i = 0; i < 9000; i++) await send(a, [spread('acc', '8610690034', String(8613900000000 + i)), sequence('acc', '8610690034', String(8613900000000 + i))]);
    // The flush's script calls, and how many of them Redis had at once: one (sent together, they
    // queued back to back in Redis, and every policy check waited behind them).
    const send0 = redis.sendCommand;
    let calls = 0;
    let inFlight = 0;
    let most = 0;
    redis.sendCommand = function (this: Redis, ...args: Parameters<Redis['sendCommand']>) {
      const [command] = args;
      if (command.name === 'evalsha' || command.name === 'eval') {
        calls++;
        most = Math.max(most, ++inFlight);
        command.promise.finally(() => inFlight--).catch(() => undefined);
      }
      return send0.apply(this, args);
    } as Redis['sendCommand'];
    try {
      await a.flush();
    } finally {
      redis.sendCommand = send0;
    }
    expect(calls).toBeGreaterThanOrEqual(9);
    expect(most).toBe(1);
    // 8,999 warm recipients each way: nine groups of at most 1,024 per counter.
    expect(sizes.filter((n) => n > 0).sort((x, y) => y - x)).toEqual([...Array(16).fill(1024), 807, 807]);
    const hllCount = await redis.pfcount(hll('8610690034'));
    expect(Math.abs(hllCount - 9000)).toBeLessThan(200);
    // The run Redis holds is the whole scan, in order: 9,000 (the cold first and 8,999 shared).
    const st = await redis.get(`${PREFIX}{${profileEntity('acc', '8610690034')}}:q:2:600:${Math.floor(now / 600_000)}`);
    expect(st?.split(' ').at(-1)).toBe('9000');
    // The shared count is the last group's answer: every recipient.
    expect(Math.abs((await send(a, [spread('acc', '8610690034', '8613900099999')]))[0]! - 9001)).toBeLessThan(200);
  });

  it('a rate rule’s distinct counter (a cap, not a statistic) is never tallied', async () => {
    const a = tally();
    const values = [0];
    expect(a.answer([spread('acc', '8610690031', '8613900000001', false)], values)).toBe(0);
    expect(Number.isNaN(values[0])).toBe(true);
  });

  it('a new window: the old one’s recipients still reach Redis; the new one starts cold', async () => {
    now = Math.floor(T0 / HOUR) * HOUR + HOUR - 1_000;
    const a = tally();
    for (let i = 0; i < 20; i++) await send(a, [spread('acc', '8610690032', `86139000${2000 + i}`)]);
    const old = hll('8610690032');
    now += 2_000;
    const cold = a.cold;
    expect(await send(a, [spread('acc', '8610690032', '8613900002000')])).toEqual([1]);
    expect(a.cold).toBe(cold + 1);
    await a.flush();
    expect(await redis.pfcount(old)).toBe(20);
    expect(await redis.pfcount(hll('8610690032'))).toBe(1);
    expect(a.size.members).toBe(1);
  });

  it('a failed flush keeps its recipients and counts for the next one', async () => {
    now = T0 + 200_000;
    let fail = true;
    const flaky = {
      baselineParams: rates.baselineParams,
      runGroups: (g: readonly RawGroup[]) => (fail ? Promise.reject(new Error('Redis down')) : rates.runGroups(g)),
    };
    const a = new IntelTally(flaky, { now: clock.now, onError: () => undefined });
    for (let i = 0; i < 30; i++) await send(a, [spread('acc', '8610690033', `86139000${3000 + i}`)]);
    await a.flush();
    expect(await send(a, [spread('acc', '8610690033', '8613900003999')])).toEqual([31]);
    fail = false;
    await a.flush();
    expect(await redis.pfcount(hll('8610690033'))).toBe(31);
    expect(await send(a, [spread('acc', '8610690033', '8613900003998')])).toEqual([32]);
  });
});

describe('sender baseline', () => {
  it('messages counted on two instances add up in Redis; each reads its own at once and the other’s after a share', async () => {
    now = T0 + 60_000;
    const a = tally();
    const b = tally();
    let last = 0;
    for (let i = 0; i < 30; i++) last = (await send(a, [baseline('acc', '8610690010')]))[0]!;
    expect(baselineOf(last).count).toBe(30);
    for (let i = 0; i < 20; i++) last = (await send(b, [baseline('acc', '8610690010')]))[0]!;
    // b's first message read a's one cold message (the rest was not shared yet), then its own.
    expect(baselineOf(last).count).toBe(21);
    await Promise.all([a.flush(), b.flush()]);
    expect(Number(await redis.hget(`${PREFIX}{${profileEntity('acc', '8610690010')}}:p`, 'c'))).toBe(50);
    last = (await send(b, [baseline('acc', '8610690010')]))[0]!;
    expect(baselineOf(last).count).toBe(51);
  });

  it('a new hour: the old hour’s count is sent with its own hour, the new hour starts cold', async () => {
    now = Math.floor(T0 / HOUR) * HOUR + HOUR - 1_000;
    const a = tally();
    for (let i = 0; i < 5; i++) await send(a, [baseline('acc', '8610690011')]);
    now += 2_000;
    const cold = a.cold;
    const v = (await send(a, [baseline('acc', '8610690011')]))[0]!;
    expect(a.cold).toBe(cold + 1);
    await a.flush();
    // The roll sent the finished hour's count at once (before the new hour's first message reached
    // Redis): the new hour holds its one message, the finished hour's five went into its hour-of-day slot.
    const h = await redis.hgetall(`${PREFIX}{${profileEntity('acc', '8610690011')}}:p`);
    expect(h.c).toBe('1');
    const slot = `b${(Math.floor(now / HOUR) - 1) % 24}`;
    expect(h[slot]?.startsWith('5')).toBe(true);
    expect(baselineOf(v).count).toBe(1);
  });
});

describe('failures and bounds', () => {
  it('a failed flush keeps its counts for the next one', async () => {
    now = T0 + 120_000;
    let fail = true;
    const errors: unknown[] = [];
    const flaky = {
      baselineParams: rates.baselineParams,
      runGroups: (g: readonly RawGroup[]) => (fail ? Promise.reject(new Error('Redis down')) : rates.runGroups(g)),
    };
    const a = new IntelTally(flaky, { now: clock.now, onError: (e) => errors.push(e) });
    for (let i = 0; i < 10; i++) await send(a, [baseline('acc', '8610690020'), sequence('acc', '8610690020', String(8613900000000 + i))]);
    await a.flush();
    expect(errors.length).toBe(1);
    fail = false;
    await a.flush();
    const e = profileEntity('acc', '8610690020');
    expect(Number(await redis.hget(`${PREFIX}{${e}}:p`, 'c'))).toBe(10);
    const st = await redis.get(`${PREFIX}{${e}}:q:2:600:${Math.floor(now / 600_000)}`);
    expect(st?.split(' ').at(-1)).toBe('10');
  });

  it('holds at most maxKeys counters: clean ones make room, unflushed ones are never dropped (new counters go cold)', async () => {
    n++;
    const a = tally({ maxKeys: 100 });
    for (let i = 0; i < 100; i++) await send(a, [campaign('x', `camp:t:${n}:${i}`)]);
    expect(a.size.keys).toBe(100);
    // Warm each once: all dirty now.
    for (let i = 0; i < 100; i++) await send(a, [campaign('x', `camp:t:${n}:${i}`)]);
    const cold = a.cold;
    expect(await send(a, [campaign('x', `camp:t:${n}:new`)])).toEqual([1]);
    expect(a.cold).toBe(cold + 1);
    expect(a.size.keys).toBe(100);
    await a.flush();
    await send(a, [campaign('x', `camp:t:${n}:new`)]);
    expect(a.size.keys).toBe(100);
    expect(a.size.members).toBe(100);
  });

  it('holds at most maxMembers campaign members: past it, new members go cold and are not kept', async () => {
    n++;
    const a = tally({ maxMembers: 10 });
    for (let i = 0; i < 20; i++) expect(await send(a, [campaign(`s${i}`)])).toEqual([i + 1]);
    expect(a.size.members).toBe(10);
  });
});
