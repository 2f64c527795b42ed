/**
 * What the one-shot commands (import, evidence) share: the configuration, read with the reason it
 * cannot be, and a Redis client with a longer timeout than the gateway's per-message one.
 */
import { ConfigError, loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { connectRedis, createRedis, type Redis } from '../store/redis.js';

/** The configuration, or the one-line reason it cannot be read. */
/** `path`: null for the environment alone (SMPPGUARD_* variables apply either way). */
export function readConfig(path: string | null): { cfg: Config } | { error: string } {
  try {
    return { cfg: loadConfig(path) };
  } catch (err) {
    if (err instanceof ConfigError) return { error: err.message };
    return { error: `cannot read configuration ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` };
  }
}

/** A connected client (Redis, Sentinel or Cluster as configured), or null when none answers in 5 s. */
export async function oneShotRedis(cfg: Config, timeoutMs: number): Promise<Redis | null> {
  const redis = createRedis({ ...cfg.redis, command_timeout_ms: Math.max(cfg.redis.command_timeout_ms, timeoutMs) });
  redis.on('error', () => undefined);
  if (await connectRedis(redis, 5000)) return redis;
  redis.disconnect();
  return null;
}
