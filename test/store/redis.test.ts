/**
 * The gateway's ioredis clients (store/redis.ts): a command's timeout against a private
 * redis-server that answers late only because the gateway's event loop was held, and one that
 * really does not answer (frozen).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisClient, type Redis } from '../../src/store/redis.js';
import { PrivateRedis } from '../helpers/private-redis.js';

describe('ioredis command timeout', () => {
  let priv: PrivateRedis;
  let client: Redis;
  beforeAll(async () => {
    priv = await PrivateRedis.start();
    client = redisClient({ url: priv.url, command_timeout_ms: 100 });
    client.on('error', () => undefined);
    await client.connect();
  });
  afterAll(async () => {
    client.disconnect();
    await priv.stop();
  });

  it('a reply that came in time is not failed because the event loop was held past the timeout', async () => {
    // Auto-pipelined: the commands go out in a setImmediate callback queued before this test's own,
    // which then holds the loop. The next turn starts with the timers (the commands' timeouts have
    // passed), before the socket that holds both replies is read.
    const sent = [client.ping(), client.echo('held')];
    await new Promise<void>((resolve) =>
      setImmediate(() => {
        const until = Date.now() + 400;
        while (Date.now() < until) {
          /* the gateway's event loop held (a long batch, a GC pause): Redis answers meanwhile */
        }
        resolve();
      }),
    );
    expect(await Promise.allSettled(sent)).toEqual([
      { status: 'fulfilled', value: 'PONG' },
      { status: 'fulfilled', value: 'held' },
    ]);
  });

  it('a Redis that does not answer still fails the command within the timeout and a turn', async () => {
    priv.freeze();
    try {
      const t0 = Date.now();
      await expect(client.ping()).rejects.toThrow('Command timed out');
      expect(Date.now() - t0).toBeLessThan(1000);
    } finally {
      priv.thaw();
    }
    expect(await client.ping()).toBe('PONG');
  });
});
