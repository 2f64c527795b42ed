/**
 * Test keys on the shared Redis, found with SCAN. Never KEYS: over a Redis that holds millions of
 * keys (the benchmark keeps its policy data there) KEYS held Redis for ~400 ms, long enough for the
 * test file running beside it to see its 250 ms command timeouts fire.
 */
import type { Redis } from 'ioredis';
import { scanKeys } from '../../src/store/redis.js';

/** Every key matching `pattern`. */
export async function keysMatching(redis: Redis, pattern: string): Promise<string[]> {
  const out: string[] = [];
  await scanKeys(redis, pattern, (keys) => void out.push(...keys));
  return out;
}

/** Deletes every key matching `pattern` (UNLINK: freed off Redis's main thread). A single Redis: a Cluster refuses one UNLINK across slots. */
export async function clearKeys(redis: Redis, pattern: string): Promise<void> {
  await scanKeys(redis, pattern, async (keys) => void (await redis.unlink(...keys)));
}
