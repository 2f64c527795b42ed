/**
 * The same gateway on Redis Sentinel: it finds the master through the sentinel, and the policy
 * check, the sender registry's pub/sub, receipts and the queue run as on a single Redis.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { senderId } from '../../src/policy/senders.js';
import { parseReceiptText } from '../../src/protocol/receipt.js';
import { Status } from '../../src/protocol/status.js';
import { LocalSentinel } from '../helpers/redis-sentinel.js';
import { sm, startStack, waitFor, type Stack } from '../helpers/stack.js';

const SENDER = '8610690012';
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
    const id = senderId('number', SENDER);
    await stack.gw.store.putSender({ id, kind: 'number', value: SENDER, account: 'esme', class: 'commercial', status: 'active', signatures: [] }, { who: 'test' });
    await waitFor(() => stack.gw.sync.registry.get(id) !== undefined, 2000, 'sender via pub/sub');
    const esme = await stack.esme('transceiver');
    const user = '8613800138444';
    expect((await esme.submit(sm({ source_addr: SENDER, destination_addr: user }))).status).toBe(Status.ESME_RSUBMITFAIL);
    await stack.gw.store.setConsent(user, `sender:${id}`, 'granted', { who: 'test' });
    const ok = await esme.submit(sm({ source_addr: SENDER, destination_addr: user, registered_delivery: 1 }));
    expect(ok.status).toBe(0);
    const [d] = await esme.waitDeliveries(1, 3000);
    expect(parseReceiptText(d!.view.shortMessage.toString('latin1'))?.id).toBe(ok.messageId);
    // The queue's keys and workers on the same master.
    expect(await stack.gw.queue!.store.depth('esme')).toBe(0);
  });
});
