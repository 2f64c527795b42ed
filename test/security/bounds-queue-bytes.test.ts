/**
 * Bounded Redis: the queue quota counts PDU bytes per account (accounts[].queue.max_queued_bytes)
 * beside the message count. Beyond the bytes the account gets ESME_RMSGQFUL while another account
 * still queues; a finished message gives its bytes back. Real Redis on 127.0.0.1:6379, unique prefix.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { Command } from '../../src/protocol/commands.js';
import { encodePdu } from '../../src/protocol/encode.js';
import { Status } from '../../src/protocol/status.js';
import type { QueuedMessage } from '../../src/queue/jobs.js';
import { MessageQueue } from '../../src/queue/message-queue.js';
import { connectRedis, createRedis, type Redis } from '../../src/store/redis.js';
import { createLogger } from '../../src/telemetry/log.js';
import { Metrics } from '../../src/telemetry/metrics.js';
import { REDIS_URL, secretHash } from '../helpers/stack.js';
import { clearKeys } from '../helpers/redis-keys.js';

const prefix = `test:bounds:${randomBytes(4).toString('hex')}:`;
let redis: Redis;
let q: MessageQueue;

beforeAll(async () => {
  const hash = await secretHash();
  const cfg = parseConfig(
    `redis: { url: "${REDIS_URL}", key_prefix: "${prefix}" }\n` +
      `accounts:\n` +
      `  - { system_id: big, password_hash: '${hash}', allowed_ips: [127.0.0.1], queue: { max_queued: 1000, max_queued_bytes: 800 } }\n` +
      `  - { system_id: small, password_hash: '${hash}', allowed_ips: [127.0.0.1], queue: { max_queued: 1000, max_queued_bytes: 800 } }\n`,
  );
  redis = createRedis({ ...cfg.redis, command_timeout_ms: 5000 });
  expect(await connectRedis(redis, 2000)).toBe(true);
  q = new MessageQueue(cfg, redis, { metrics: new Metrics(false), log: createLogger('silent') });
});

afterAll(async () => {
  await clearKeys(redis, `${prefix}*`);
  await q?.close();
  redis?.disconnect();
});

/** A submit_sm of a bit over 200 bytes (three fit in 800 bytes, four do not). */
function message(account: string): QueuedMessage {
  const now = Date.now();
  const pdu = encodePdu(Command.submit_sm, 0, 1, { source_addr: '8610690002', destination_addr: '8613800138000', short_message: Buffer.alloc(200, 0x41) });
  return { id: q.newId(), account, queue: 'review', pdu, rule: 'test', reason: 'test', acceptedAt: now, releaseAt: now, expiresAt: now + 3_600_000 };
}

const enqueue = (m: QueuedMessage) => new Promise<number>((resolve) => q.enqueue(m, resolve));

describe('the queue quota in bytes', () => {
  it('refuses with ESME_RMSGQFUL beyond max_queued_bytes, well under max_queued; other accounts are unaffected; released bytes count again', async () => {
    const first = message('big');
    expect(3 * first.pdu.length).toBeLessThanOrEqual(800);
    expect(4 * first.pdu.length).toBeGreaterThan(800);
    const statuses = [await enqueue(first)];
    for (let i = 0; i < 3; i++) statuses.push(await enqueue(message('big')));
    expect(statuses).toEqual([0, 0, 0, Status.ESME_RMSGQFUL]); // 4 messages, far under max_queued (1000)
    expect(await enqueue(message('small'))).toBe(0);
    expect(Number(await redis.hget(q.bytesKey('big'), '#total'))).toBe(3 * first.pdu.length);
    // One finished: its bytes are free again.
    await q.release([['review', 'big', first.id]]);
    expect(Number(await redis.hget(q.bytesKey('big'), '#total'))).toBe(2 * first.pdu.length);
    expect(await enqueue(message('big'))).toBe(0);
  });
});
