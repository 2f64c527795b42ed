/**
 * Bounded Redis: the shared bind counts ({binds:<account>}, upstream/shared-limits.ts) carry a TTL
 * that the live instance refreshes, so an instance that dies leaves nothing behind for good.
 * Real Redis on 127.0.0.1:6379, unique key prefix per run.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { Metrics } from '../../src/telemetry/metrics.js';
import { BINDS_TTL_MS, SharedLimits } from '../../src/upstream/shared-limits.js';
import { clearKeys } from '../helpers/redis-keys.js';

const PREFIX = `test:bounds:${process.pid}:${randomBytes(4).toString('hex')}:`;
const redis = new Redis('redis://127.0.0.1:6379', { lazyConnect: false });

afterAll(async () => {
  await clearKeys(redis, `${PREFIX}*`);
  redis.disconnect();
});

describe('{binds:<account>} keys', () => {
  it('carry a TTL after a reservation, a refused reservation and a release, and it is refreshed', async () => {
    const limits = new SharedLimits(redis, PREFIX, new Metrics(false));
    const key = limits.bindsKey('acme');
    expect(await limits.reserveBind('acme', 1)).toBe(true);
    const ttl = await redis.pttl(key);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(BINDS_TTL_MS);
    await redis.pexpire(key, 1000);
    expect(await limits.reserveBind('acme', 1)).toBe(false); // full: refused, TTL still refreshed
    expect(await redis.pttl(key)).toBeGreaterThan(1000);
    await redis.pexpire(key, 1000);
    limits.releaseBind('acme');
    await redis.ping();
    expect(await redis.pttl(key)).toBeGreaterThan(1000);
    await limits.stop();
  });

  it('an instance that dies without stop() leaves a key that expires', async () => {
    const limits = new SharedLimits(redis, PREFIX, new Metrics(false));
    expect(await limits.reserveBind('dead', 4)).toBe(true);
    // No stop(): the process is gone. Nothing refreshes the key any more, and it has a TTL.
    const ttl = await redis.pttl(limits.bindsKey('dead'));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(BINDS_TTL_MS);
  });
});

describe('SharedLimits: max_binds over instances', () => {
  it('a heartbeat sent while a reservation is unanswered does not overwrite the count Redis already has', async () => {
    const limits = new SharedLimits(redis, PREFIX, new Metrics(false));
    const key = limits.bindsKey('race');
    expect(await limits.reserveBind('race', 3)).toBe(true); // the script is loaded; this instance: 1
    const pending = limits.reserveBind('race', 3); // sent: Redis will count 2 before this instance knows
    limits.heartbeat(); // sent after it, while this instance still says 1
    expect(await pending).toBe(true);
    await redis.ping();
    expect(await redis.hget(key, limits.instanceId)).toBe('2');
    // Answered, the next heartbeat writes the count again (and corrects a wrong one).
    await redis.hset(key, limits.instanceId, 7);
    limits.heartbeat();
    await redis.ping();
    expect(await redis.hget(key, limits.instanceId)).toBe('2');
    await limits.stop();
  });

  it('a bind let in because Redis could not answer its reservation does not hide another bind when it is released', async () => {
    const metrics = new Metrics(false);
    const [x, y] = [new SharedLimits(redis, PREFIX, metrics), new SharedLimits(redis, PREFIX, new Metrics(false))];
    const key = x.bindsKey('unanswered');
    await redis.set(key, 'not a hash'); // the script fails as a lost connection would make it
    expect(await x.reserveBind('unanswered', 1)).toBe(true); // let in; Redis counted nothing
    expect((await metrics.redisErrors.get()).values).toContainEqual(expect.objectContaining({ labels: { op: 'bind_reserve' }, value: 1 }));
    await redis.del(key);
    x.releaseBind('unanswered');
    await redis.ping();
    expect(await redis.hget(key, x.instanceId)).toBe('0'); // not -1
    expect(await x.reserveBind('unanswered', 1)).toBe(true);
    expect(await y.reserveBind('unanswered', 1)).toBe(false); // x holds the one bind there is
    await Promise.all([x.stop(), y.stop()]);
  });

  it('a count below zero in Redis counts as none', async () => {
    const [x, y] = [new SharedLimits(redis, PREFIX, new Metrics(false)), new SharedLimits(redis, PREFIX, new Metrics(false))];
    const key = x.bindsKey('negative');
    await redis.hset(key, x.instanceId, -1, `${x.instanceId}:seen`, Date.now());
    expect(await y.reserveBind('negative', 1)).toBe(true);
    expect(await y.reserveBind('negative', 1)).toBe(false); // -1 + 1 would have let a second in
    await redis.hset(key, y.instanceId, -2);
    expect(await y.reserveBind('negative', 2)).toBe(true);
    expect(await redis.hget(key, y.instanceId)).toBe('1'); // its own count starts again from none
    await Promise.all([x.stop(), y.stop()]);
  });
});
