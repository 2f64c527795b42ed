/**
 * The message flow every Redis topology must carry (single, Sentinel, Cluster, over TLS or not): a
 * sender registered through the store reaches the registry by pub/sub, a commercial message without
 * consent is refused, with consent it is forwarded and its receipt comes back, and the queue answers
 * on the same Redis.
 */
import { expect } from 'vitest';
import { senderId } from '../../src/domain/sender.js';
import { parseReceiptText } from '../../src/protocol/receipt.js';
import { Status } from '../../src/protocol/status.js';
import { sm, waitFor, type Stack } from './stack.js';

export async function consentFlow(stack: Stack, user: string, sender = '8610690012'): Promise<void> {
  const id = senderId('number', sender);
  await stack.gw.store.putSender({ id, kind: 'number', value: sender, account: 'esme', class: 'commercial', status: 'active', signatures: [] }, { who: 'test' });
  await waitFor(() => stack.gw.sync.registry.get(id) !== undefined, 3000, 'sender via pub/sub');
  const esme = await stack.esme('transceiver');
  expect((await esme.submit(sm({ source_addr: sender, destination_addr: user }))).status).toBe(Status.ESME_RSUBMITFAIL);
  await stack.gw.store.setConsent(user, `sender:${id}`, 'granted', { who: 'test' });
  const ok = await esme.submit(sm({ source_addr: sender, destination_addr: user, registered_delivery: 1 }));
  expect(ok.status).toBe(0);
  const [d] = await esme.waitDeliveries(1, 3000);
  expect(parseReceiptText(d!.view.shortMessage.toString('latin1'))?.id).toBe(ok.messageId);
  expect(await stack.gw.queue!.store.depth('esme')).toBe(0);
}
