/**
 * store/: everything the gateway keeps in Redis. This file makes the client: every command has a
 * timeout and nothing queues while Redis is down (calls fail at once and the caller degrades as
 * configured), and reconnects run forever in the background, so recovery needs no restart.
 */
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';

export type { Redis };

export interface RedisOptions {
  url: string;
  command_timeout_ms: number;
}

export function createRedis(opts: RedisOptions): Redis {
  return new Redis(opts.url, {
    commandTimeout: opts.command_timeout_ms,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    enableAutoPipelining: true,
    lazyConnect: true,
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2000),
    reconnectOnError: () => false,
  });
}

/** Connects, waiting at most `timeoutMs`; false when Redis did not answer (the client keeps trying). */
export async function connectRedis(client: Redis, timeoutMs: number): Promise<boolean> {
  if (client.status === 'ready') return true;
  const ready = new Promise<boolean>((resolve) => {
    client.once('ready', () => resolve(true));
  });
  if (client.status === 'wait') client.connect().catch(() => undefined);
  const timer = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), timeoutMs).unref());
  return Promise.race([ready, timer]);
}

/** Loads a Lua script shipped beside this module (copied into dist/ by the build). */
export function luaScript(name: string): string {
  return readFileSync(new URL(`./lua/${name}`, import.meta.url), 'utf8');
}
