/**
 * ConnectionWatch (store/redis.ts): a real client against a private redis-server that is stopped,
 * then started again. Errors are counted every time, logged once per kind (again after a minute),
 * recovery is logged, and lastError says why Redis is down.
 */
import { afterAll, expect, it } from 'vitest';
import { pino } from 'pino';
import { Writable } from 'node:stream';
import { ConnectionWatch, createRedis } from '../../src/store/redis.js';
import { PrivateRedis } from '../helpers/private-redis.js';
import { waitFor } from '../helpers/stack.js';

let server: PrivateRedis | null = null;
afterAll(async () => {
  await server?.stop();
});

it('logs a connection error once per kind and minute, counts each, and logs the recovery', async () => {
  server = await PrivateRedis.start();
  await server.stop(); // its port is now closed: every connect is refused
  const lines: { msg: string; err?: string }[] = [];
  const log = pino(
    { level: 'info' },
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(JSON.parse(chunk.toString()));
        cb();
      },
    }),
  );
  let clock = 1_000_000;
  let counted = 0;
  const client = createRedis({ url: server.url, command_timeout_ms: 200 });
  const watch = new ConnectionWatch(client, log, () => counted++, () => clock);
  client.connect().catch(() => undefined);
  try {
    await waitFor(() => counted >= 3, 5000, 'three refused connects');
    const failed = () => lines.filter((l) => l.msg === 'Redis connection failed');
    expect(failed()).toHaveLength(1);
    expect(failed()[0]!.err).toMatch(/ECONNREFUSED/);
    expect(watch.lastError).toMatch(/ECONNREFUSED/);
    clock += 60_000;
    const seen = counted;
    await waitFor(() => counted > seen, 5000, 'another refused connect');
    expect(failed()).toHaveLength(2);
    await server.restart();
    await waitFor(() => client.status === 'ready', 5000, 'the client to reconnect');
    expect(lines.at(-1)?.msg).toBe('Redis connected');
    expect(watch.lastError).toBeNull();
  } finally {
    client.disconnect();
  }
}, 20_000);
