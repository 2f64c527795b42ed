import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { Metrics } from '../../src/telemetry/metrics.js';
import { SharedLimits } from '../../src/upstream/shared-limits.js';

const PREFIX = `test:shared-limits:${process.pid}:${randomBytes(4).toString('hex')}:`;
const redis = new Redis('redis://127.0.0.1:6379');

afterAll(async () => {
  const keys = await redis.keys(`${PREFIX}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
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
});
