/** bench/procs.ts: the decision buffer a benchmark run starts with. */
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { clearDecisionBuffer } from '../../bench/procs.js';
import { REDIS_URL } from '../helpers/stack.js';

describe('clearDecisionBuffer', () => {
  const redis = new Redis(REDIS_URL);
  const prefix = `test:bench-procs:${process.pid}:`;
  afterAll(async () => {
    await redis.del(`${prefix}dnd:keep`);
    redis.disconnect();
  });

  it("removes every shard's stream and meta hash of the prefix, and nothing else", async () => {
    for (let s = 0; s < 4; s++) {
      await redis.xadd(`${prefix}audit:{a:${s}}`, '*', 'n', '1', 'd', 'line\n');
      await redis.hset(`${prefix}auditm:{a:${s}}`, 'b', '5');
    }
    await redis.set(`${prefix}dnd:keep`, '1');
    expect(await clearDecisionBuffer(prefix, 4, REDIS_URL)).toBe(8);
    for (let s = 0; s < 4; s++) {
      expect(await redis.exists(`${prefix}audit:{a:${s}}`, `${prefix}auditm:{a:${s}}`)).toBe(0);
    }
    expect(await redis.get(`${prefix}dnd:keep`)).toBe('1');
  });
});
