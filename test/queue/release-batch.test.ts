/**
 * The quota's books after delivery (MessageQueue.release): calls made in one event-loop turn share
 * script calls of at most 500 messages; each caller hears of its own call's outcome (a failing
 * call rejects its callers, the others stand); a message released twice is taken off once. A
 * private redis-server.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { MessageQueue } from '../../src/queue/message-queue.js';
import type { QueueName } from '../../src/queue/jobs.js';
import { connectRedis, createRedis, type Redis } from '../../src/store/redis.js';
import { createLogger } from '../../src/telemetry/log.js';
import { Metrics } from '../../src/telemetry/metrics.js';
import { PrivateRedis } from '../helpers/private-redis.js';
import { secretHash } from '../helpers/stack.js';

let pr: PrivateRedis;
let redis: Redis;
let q: MessageQueue;

beforeAll(async () => {
  pr = await PrivateRedis.start();
  const hash = await secretHash();
  const cfg = parseConfig(
    `accounts:\n  - { system_id: a, password_hash: '${hash}', allowed_ips: [127.0.0.0/8] }\n  - { system_id: b, password_hash: '${hash}', allowed_ips: [127.0.0.0/8] }\n`,
  );
  redis = createRedis({ url: pr.url, command_timeout_ms: 5000 });
  expect(await connectRedis(redis, 2000)).toBe(true);
  q = new MessageQueue(cfg, redis, { metrics: new Metrics(false), log: createLogger('silent') });
});

afterAll(async () => {
  await q?.close();
  redis?.disconnect();
  await pr?.stop();
});

/** Puts n messages on the books as queue-add.lua does (set member + size in the bytes hash). */
async function book(queue: QueueName, account: string, ids: string[]): Promise<void> {
  const m = redis.multi();
  for (const id of ids) m.zadd(q.accountKey(queue, account), 1, id).hset(q.bytesKey(account), id, 10).hincrby(q.bytesKey(account), '#total', 10);
  await m.exec();
}

const ids = (tag: string, n: number) => Array.from({ length: n }, (_, i) => `${tag}${i}`);

it('takes a turn of single releases off the books in a few script calls, every caller answered', async () => {
  const safA = ids('sa', 1200);
  const winB = ids('wb', 300);
  await book('saf', 'a', safA);
  await book('window', 'b', winB);
  await redis.config('RESETSTAT');
  const calls = [
    ...safA.map((id) => q.release([['saf', 'a', id]])),
    ...winB.map((id) => q.release([['window', 'b', id]])),
    // the same message twice in the turn, and one not on the books: harmless
    q.release([['saf', 'a', safA[0]!]]),
    q.release([['review', 'a', 'nowhere']]),
  ];
  await Promise.all(calls);
  expect(await redis.zcard(q.accountKey('saf', 'a'))).toBe(0);
  expect(await redis.zcard(q.accountKey('window', 'b'))).toBe(0);
  expect(await redis.hget(q.bytesKey('a'), '#total')).toBe('0');
  expect(await redis.hget(q.bytesKey('b'), '#total')).toBe('0');
  expect(await redis.hlen(q.bytesKey('a'))).toBe(1);
  // 1,502 messages: four calls of at most 500 (a call is never split between script calls).
  const stats = await redis.info('commandstats');
  const evals = Number(/cmdstat_evalsha:calls=(\d+)/.exec(stats)?.[1] ?? 0) + Number(/cmdstat_eval:calls=(\d+)/.exec(stats)?.[1] ?? 0);
  expect(evals).toBeGreaterThanOrEqual(4);
  expect(evals).toBeLessThanOrEqual(5);
});

it('a call larger than a batch goes alone; a failing script call rejects its own callers only', async () => {
  const big = ids('big', 700);
  await book('saf', 'a', big);
  await book('saf', 'b', ['ok1']);
  // A bytes hash of the wrong type makes the call that touches it fail half-way.
  await redis.del(q.bytesKey('b'));
  await redis.set(q.bytesKey('b'), 'not a hash');
  await book('saf', 'a', ['later']);
  const whole = q.release(big.map((id) => ['saf', 'a', id] as const));
  const failing = q.release([['saf', 'b', 'ok1']]);
  const sameCall = q.release([['saf', 'a', 'later']]);
  await expect(whole).resolves.toBeUndefined();
  await expect(failing).rejects.toThrow(/WRONGTYPE/);
  await expect(sameCall).rejects.toThrow(/WRONGTYPE/);
  // The big call stood; the failed one's caller retries (or the repair cleans up): idempotent.
  expect(await redis.zcard(q.accountKey('saf', 'a'))).toBe(1);
  await q.release([['saf', 'a', 'later']]);
  expect(await redis.zcard(q.accountKey('saf', 'a'))).toBe(0);
  // Failing half-way: its set entry went, the books of that call are left for the repair.
  await redis.del(q.bytesKey('b'));
  // The next turn works as before.
  await book('saf', 'b', ['ok2']);
  await q.release([['saf', 'b', 'ok2']]);
  expect(await redis.zcard(q.accountKey('saf', 'b'))).toBe(0);
});
