/**
 * The enqueue deadline: a queued message's ESME has its answer within queue.command_timeout_ms of
 * the enqueue, whatever Redis does (frozen here, with per-command timeouts far longer, as ioredis
 * Cluster retries during a failover can make them). Messages answered at the deadline before their
 * batch left are not written afterwards. A private redis-server, frozen with SIGSTOP.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { Command } from '../../src/protocol/commands.js';
import { encodePdu } from '../../src/protocol/encode.js';
import { Status } from '../../src/protocol/status.js';
import { MessageQueue } from '../../src/queue/message-queue.js';
import { type QueuedMessage } from '../../src/queue/jobs.js';
import { connectRedis, createRedis, type Redis } from '../../src/store/redis.js';
import { createLogger } from '../../src/telemetry/log.js';
import { Metrics } from '../../src/telemetry/metrics.js';
import { PrivateRedis } from '../helpers/private-redis.js';
import { secretHash } from '../helpers/stack.js';

const DEADLINE = 300;
let pr: PrivateRedis;
let redis: Redis;
let metrics: Metrics;
let q: MessageQueue;

beforeAll(async () => {
  pr = await PrivateRedis.start();
  const cfg = parseConfig(`queue: { command_timeout_ms: ${DEADLINE} }\naccounts: [{ system_id: esme, password_hash: '${await secretHash()}', allowed_ips: [127.0.0.0/8] }]\n`);
  // Commands themselves would wait 10 s: only the deadline can answer in time.
  redis = createRedis({ url: pr.url, command_timeout_ms: 10_000 });
  redis.on('error', () => undefined);
  expect(await connectRedis(redis, 2000)).toBe(true);
  metrics = new Metrics(false);
  q = new MessageQueue(cfg, redis, { metrics, log: createLogger('silent') });
});

afterAll(async () => {
  pr.thaw();
  await q?.close();
  redis?.disconnect();
  await pr?.stop();
});

function message(text: string): QueuedMessage {
  const now = Date.now();
  const pdu = encodePdu(Command.submit_sm, 0, 1, { source_addr: '8610690002', destination_addr: '8613800138000', short_message: Buffer.from(text) });
  return { id: q.newId(), account: 'esme', queue: 'review', pdu, rule: 'test', reason: 'test', acceptedAt: now, releaseAt: now, expiresAt: now + 3_600_000 };
}

/** Enqueues and resolves with the status and how long the answer took. */
function enqueue(m: QueuedMessage): Promise<{ status: number; ms: number }> {
  const t0 = performance.now();
  return new Promise((resolve) => q.enqueue(m, (status) => resolve({ status, ms: performance.now() - t0 })));
}

const turn = () => new Promise((r) => setImmediate(r));

it('answers ESME_RSYSERR within queue.command_timeout_ms while Redis is frozen; messages not yet sent are not written later', async () => {
  const first = message('before');
  expect((await enqueue(first)).status).toBe(0);

  pr.freeze();
  // A callback that throws (answered first, at its deadline) does not keep the others from theirs.
  let thrower = 0;
  q.enqueue(message('throws'), () => {
    thrower++;
    throw new Error('callback failed');
  });
  // Eight turns: four batches go out and hang, the later ones wait behind them.
  const waves: { m: QueuedMessage; answer: Promise<{ status: number; ms: number }> }[][] = [];
  for (let w = 0; w < 8; w++) {
    waves.push(Array.from({ length: 3 }, (_, i) => message(`wave ${w} #${i}`)).map((m) => ({ m, answer: enqueue(m) })));
    await turn();
  }
  const answers = await Promise.all(waves.flat().map((x) => x.answer));
  expect(thrower).toBe(1);
  expect(answers.map((a) => a.status)).toEqual(answers.map(() => Status.ESME_RSYSERR));
  // The deadline, plus room for a busy machine; without it, 10 s.
  expect(Math.max(...answers.map((a) => a.ms))).toBeLessThan(DEADLINE + 1500);

  pr.thaw();
  // (After the thaw: a scrape asks Redis for the queue depths.)
  expect(await metrics.text()).toMatch(/smppguard_queue_jobs_total\{queue="review",outcome="timeout"\} 25/);
  // Redis catches up: the batches that were sent complete (stored after their 0x08: the ESME's
  // retry may duplicate, never lose); the ones still waiting were dropped at their deadline.
  const lastSent = waves[3]![0]!.m.id;
  for (let t0 = Date.now(); !(await q.review.getJob(lastSent)); await new Promise((r) => setTimeout(r, 20))) {
    if (Date.now() - t0 > 5000) throw new Error('the sent batches were not stored after the thaw');
  }
  const never = waves[7]!.map((x) => x.m.id);
  await new Promise((r) => setTimeout(r, 200));
  for (const id of never) expect(await q.review.getJob(id)).toBeFalsy();

  // And the queue works on: a fresh message is answered ESME_ROK and stored.
  const after = message('after');
  expect((await enqueue(after)).status).toBe(0);
  expect((await q.review.getJob(after.id))?.data.rule).toBe('test');
  expect(await metrics.text()).toMatch(/smppguard_queue_jobs_total\{queue="review",outcome="queued"\} 2/);
});
