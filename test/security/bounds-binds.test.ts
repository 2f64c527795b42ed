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

const PREFIX = `test:bounds:${process.pid}:${randomBytes(4).toString('hex')}:`;
const redis = new Redis('redis://127.0.0.1:6379', { lazyConnect: false });

afterAll(async () => {
  const keys = await redis.keys(`${PREFIX}*`);
  if (keys.length) await redis.del(...keys);
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
