/**
 * The same gateway on Redis Sentinel: it finds the master through the sentinel, and the policy
 * check, the sender registry's pub/sub, receipts and the queue run as on a single Redis.
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import { LocalSentinel } from '../helpers/redis-sentinel.js';
import { consentFlow } from '../helpers/redis-flow.js';
import { startStack, type Stack } from '../helpers/stack.js';

let sentinel: LocalSentinel;
let stack: Stack;

beforeAll(async () => {
  sentinel = await LocalSentinel.start('sg');
  stack = await startStack({
    cfg: (c) => {
      c.redis = { ...c.redis, url: 'redis://127.0.0.1', sentinel: { name: 'sg', sentinels: [{ host: '127.0.0.1', port: sentinel.sentinelPort }] } };
      c.policy.enabled = true;
    },
  });
}, 30_000);

afterAll(async () => {
  await stack?.stop();
  await sentinel?.stop();
});

describe('Redis Sentinel', () => {
  it('policy, receipts and the queue work through the sentinel-managed master', async () => {
    await consentFlow(stack, '8613800138444');
  });
});
