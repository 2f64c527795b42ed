/**
 * The window and saf streams (queue/message-queue.ts, worker.ts): entries in hand are renewed and
 * never claimed by another worker while renewed; a worker that stops renewing (died) has its
 * entries claimed after the lock duration; window messages move from the due set when their time
 * comes; and messages an earlier version left as BullMQ jobs are moved over at start and delivered,
 * while a job locked by a running older instance stays where it is.
 */
import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { Command } from '../../src/protocol/commands.js';
import { encodePdu } from '../../src/protocol/encode.js';
import { MessageQueue } from '../../src/queue/message-queue.js';
import { jobData, type QueuedMessage } from '../../src/queue/jobs.js';
import { ShiftedClock } from '../../src/session/clock.js';
import { freePort } from '../../src/sim/free-port.js';
import { startSimulator, type Simulator } from '../../src/sim/simulator.js';
import { connectRedis, createRedis } from '../../src/store/redis.js';
import { createLogger } from '../../src/telemetry/log.js';
import { Metrics } from '../../src/telemetry/metrics.js';
import { REDIS_URL, secretHash, startGateway, waitFor, type GatewayStack } from '../helpers/stack.js';

function pdu(text: string, to = '8613800138000'): Buffer {
  return encodePdu(Command.submit_sm, 0, 1, { source_addr: '8610690002', destination_addr: to, short_message: Buffer.from(text) });
}

describe('the streams, with a MessageQueue of its own', () => {
  let redis: ReturnType<typeof createRedis>;
  let blocking: Redis;
  let q: MessageQueue;
  const clock = new ShiftedClock(0);

  beforeAll(async () => {
    const cfg = parseConfig(`redis: { key_prefix: 'test:${randomBytes(4).toString('hex')}:' }\naccounts: [{ system_id: esme, password_hash: '${await secretHash()}', allowed_ips: [127.0.0.0/8] }]\n`);
    redis = createRedis({ url: REDIS_URL, command_timeout_ms: 5000 });
    expect(await connectRedis(redis, 2000)).toBe(true);
    blocking = new Redis(REDIS_URL);
    q = new MessageQueue(cfg, redis, { metrics: new Metrics(false), log: createLogger('silent'), clock });
    await q.ensureGroups();
  });

  afterAll(async () => {
    await q.close();
    for await (const keys of redis.scanStream({ match: `${q.prefix}*`, count: 1000 }) as AsyncIterable<string[]>) if (keys.length) await redis.del(...keys);
    redis.disconnect();
    blocking.disconnect();
  });

  function message(queue: 'window' | 'saf', text: string, releaseIn = 0): QueuedMessage {
    const now = clock.now();
    return { id: q.newId(), account: 'esme', queue, pdu: pdu(text), rule: 'test', reason: 'test', acceptedAt: now, releaseAt: now + releaseIn, expiresAt: now + 86_400_000 };
  }

  const enqueue = (m: QueuedMessage) => new Promise<number>((resolve) => q.enqueue(m, resolve));

  it('renewed entries stay with their worker; a worker that stops renewing loses them after the lock duration', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const m = message('saf', `lease ${i}`);
      expect(await enqueue(m)).toBe(0);
      ids.push(m.id);
    }
    const taken = await q.take(blocking, 'saf', 'worker-a', 10, 100);
    expect(taken.map((t) => t.id)).toEqual(ids);
    expect(taken.map((t) => t.msg?.pdu.equals(pdu(`lease ${ids.indexOf(t.id)}`)))).toEqual([true, true, true]);
    // Worker a renews every 100 ms for 600 ms: worker b's sweep (400 ms idle) finds nothing.
    for (let i = 0; i < 6; i++) {
      await new Promise((r) => setTimeout(r, 100));
      await q.renew('saf', 'worker-a', taken.map((t) => t.entry));
      expect((await q.claimStalled('saf', 'worker-b', 400, '0-0', 10)).taken).toEqual([]);
    }
    // Worker a dies (no more renewals): after 400 ms worker b has them, in stream order.
    await new Promise((r) => setTimeout(r, 500));
    const claimed = await q.claimStalled('saf', 'worker-b', 400, '0-0', 10);
    expect(claimed.taken.map((t) => t.id)).toEqual(ids);
    // Worker b ends them: books, stored bytes and entries go.
    await q.release(claimed.taken.map((t) => ['saf', 'esme', t.id, t.entry] as const));
    expect(await redis.xlen(q.streamKey('saf'))).toBe(0);
    expect(await redis.hlen(q.messagesKey)).toBe(0);
    expect(await q.depth('esme')).toBe(0);
    expect(Number(((await redis.xpending(q.streamKey('saf'), 'workers')) as [number])[0])).toBe(0);
  });

  it('a window message waits in the due set until its release time by the gateway clock', async () => {
    const later = message('window', 'at eight', 3_600_000);
    const now = message('window', 'open already');
    expect(await enqueue(later)).toBe(0);
    expect(await enqueue(now)).toBe(0);
    expect((await q.take(blocking, 'window', 'w', 10, 50)).map((t) => t.id)).toEqual([now.id]);
    expect(await q.promote()).toBe(0);
    expect((await q.inspect(later.id))?.queue).toBe('window');
    clock.advance(3_600_000);
    expect(await q.promote()).toBe(1);
    const [t] = await q.take(blocking, 'window', 'w', 10, 50);
    expect(t?.id).toBe(later.id);
    expect(t?.msg?.releaseAt).toBe(later.releaseAt);
  });
});

describe('messages an earlier version left as BullMQ jobs', () => {
  const stacks: GatewayStack[] = [];
  let sim: Simulator | null = null;
  afterEach(async () => {
    for (const s of stacks.splice(0)) await s.stop().catch(() => undefined);
    await sim?.close();
    sim = null;
  });

  it('are moved into the streams at start and delivered; a locked job stays with its owner', async () => {
    const prefix = `test:${randomBytes(4).toString('hex')}:`;
    const qp = `${prefix}{q}`;
    const conn = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    const now = Date.now();
    const legacy = (id: string, queue: 'window' | 'saf', text: string, releaseAt = now): QueuedMessage => ({
      id,
      account: 'esme',
      queue,
      pdu: pdu(text, `86138001380${id.slice(-2)}`),
      rule: 'test',
      reason: 'test',
      acceptedAt: now,
      releaseAt,
      expiresAt: now + 86_400_000,
    });
    const saf = [legacy('Qlegacy01', 'saf', 'saf one'), legacy('Qlegacy02', 'saf', 'saf two')];
    const due = legacy('Qlegacy03', 'window', 'window open');
    const closed = legacy('Qlegacy04', 'window', 'window closed', now + 3_600_000);
    const locked = legacy('Qlegacy05', 'saf', 'in an old instance');
    const queues = { saf: new Queue('saf', { connection: conn, prefix: qp }), window: new Queue('window', { connection: conn, prefix: qp }) };
    for (const m of [...saf, due, closed, locked]) {
      // As the earlier version queued them: a job with the message id, its release as the delay, and the books.
      await queues[m.queue as 'window' | 'saf'].add(m.reason, jobData(m), { jobId: m.id, delay: Math.max(0, m.releaseAt - now), removeOnComplete: true });
      await conn.multi().zadd(`${qp}:acct:${m.queue}:esme`, m.acceptedAt, m.id).hset(`${qp}:acct:bytes:esme`, m.id, m.pdu.length).exec();
    }
    // A job an older instance still holds (its lock is live) is left to that instance.
    await conn.set(`${qp}:saf:${locked.id}:lock`, 'token', 'PX', 60_000);

    const smscPort = await freePort();
    sim = await startSimulator({ port: smscPort, record: true });
    const gw = await startGateway(smscPort, { cfg: (c) => (c.redis.key_prefix = prefix) });
    stacks.push(gw);
    await waitFor(() => sim!.received.length >= 3, 5000, 'the moved messages at the SMSC');
    await new Promise((r) => setTimeout(r, 300));
    const texts = sim.received.map((b) => b.toString('latin1'));
    expect(texts.filter((t) => t.includes('saf one') || t.includes('saf two') || t.includes('window open'))).toHaveLength(3);
    expect(texts.some((t) => t.includes('window closed') || t.includes('in an old instance'))).toBe(false);
    // The bytes sent are the bytes the earlier version stored (only the sequence number differs).
    const sent = sim.received.find((b) => b.toString('latin1').includes('saf one'))!;
    expect(sent.subarray(16).equals(saf[0]!.pdu.subarray(16))).toBe(true);
    // The closed window's message waits in the due set, readable by id; the locked job is untouched.
    const store = gw.gw.queue!.store;
    expect(await conn.zscore(store.dueKey, closed.id)).toBe(String(closed.releaseAt));
    expect((await store.inspect(closed.id))?.destination_addr).toBe('8613800138004');
    expect(await conn.exists(`${qp}:saf:${locked.id}`)).toBe(1);
    expect(await conn.exists(`${qp}:saf:${saf[0]!.id}`, `${qp}:window:${due.id}`, `${qp}:window:${closed.id}`)).toBe(0);
    // Delivered ones are off the books; the waiting and the locked one are still on them.
    expect(await conn.zrange(`${qp}:acct:saf:esme`, '0', '-1')).toEqual([locked.id]);
    expect(await conn.zrange(`${qp}:acct:window:esme`, '0', '-1')).toEqual([closed.id]);

    // The old instance dies: its lock expires, and the next sweep moves and delivers that job too.
    await conn.del(`${qp}:saf:${locked.id}:lock`);
    expect(await store.migrateLegacy()).toBe(1);
    await waitFor(() => sim!.received.some((b) => b.toString('latin1').includes('in an old instance')), 5000, 'the formerly locked job at the SMSC');
    await queues.saf.close();
    await queues.window.close();
    conn.disconnect();
  });
});
