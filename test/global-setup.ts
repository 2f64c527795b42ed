/**
 * Once the whole suite has run: the keys its tests left on the shared Redis, all under `test:`. A
 * gateway stack keeps its keys past stop() (some tests start a second gateway on the first one's
 * prefix to see what survived), and the queue's streams have no TTL, so every run used to leave
 * ~850 keys behind on a developer's Redis. No Redis answering: nothing to clear.
 */
import { Redis } from 'ioredis';
import { clearKeys } from './helpers/redis-keys.js';
import { REDIS_URL } from './helpers/redis-url.js';

export async function teardown(): Promise<void> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 2000, retryStrategy: () => null });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    await clearKeys(redis, 'test:*');
  } catch {
    /* no Redis here */
  } finally {
    redis.disconnect();
  }
}
