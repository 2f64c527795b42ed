import { afterEach, describe, expect, it } from 'vitest';
import { Command } from '../../src/protocol/commands.js';
import { Status } from '../../src/protocol/status.js';
import { Tag } from '../../src/protocol/tlv.js';
import { parseReceiptText } from '../../src/protocol/receipt.js';
import type { HeldDeliveries } from '../../src/store/held-deliveries.js';
import { connect } from '../helpers/esme-client.js';
import { sm, startStack, waitFor, type Stack } from '../helpers/stack.js';

let stack: Stack | null = null;
afterEach(async () => {
  await stack?.stop();
  stack = null;
});

describe('relay ESME → SMSC', () => {
  it('forwards submit_sm and returns the SMSC message id with the ESME sequence number', async () => {
    stack = await startStack();
    const esme = await stack.esme('transmitter');
    const r = await esme.submit(sm());
    expect(r.status).toBe(0);
    expect(r.messageId).toMatch(/^[0-9a-f]+$/);
    expect(stack.sim.stats.submits).toBe(1);
  });

  it('matches out-of-order responses by sequence number under a deep window', async () => {
    stack = await startStack({ sim: { responseDelayMs: 0 } });
    const esme = await stack.esme('transmitter');
    // 100 = the account's window; two SMSC binds answer independently, so responses interleave.
    const results = await Promise.all(Array.from({ length: 100 }, (_, i) => esme.submit(sm({ short_message: `m${i}` }))));
    expect(results.every((r) => r.status === 0)).toBe(true);
    expect(new Set(results.map((r) => r.messageId)).size).toBe(100);
  });

  it('answers ESME_RSYSERR when the SMSC does not answer in time', async () => {
    stack = await startStack({ sim: { blackhole: true } });
    const esme = await stack.esme('transmitter');
    const t0 = Date.now();
    const r = await esme.submit(sm());
    expect(r.status).toBe(Status.ESME_RSYSERR);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect(Date.now() - t0).toBeLessThan(1900);
  });

  it('relays the SMSC error status to the ESME', async () => {
    stack = await startStack({ sim: { errorStatus: Status.ESME_RMSGQFUL, errorRatio: 1 } });
    const esme = await stack.esme('transmitter');
    expect((await esme.submit(sm())).status).toBe(Status.ESME_RMSGQFUL);
  });

  it('answers ESME_RSYSERR at once when no SMSC bind is up, and recovers when links return', async () => {
    stack = await startStack();
    const esme = await stack.esme('transmitter');
    stack.sim.dropLinks({ refuseMs: 400 });
    await waitFor(() => stack!.gw.pool.boundCount === 0, 1000, 'links down');
    expect((await esme.submit(sm())).status).toBe(Status.ESME_RSYSERR);
    await waitFor(() => stack!.gw.pool.boundCount > 0, 3000, 'reconnect');
    expect((await esme.submit(sm())).status).toBe(0);
  });
});

describe('receipts and MO', () => {
  it('routes a delivery receipt to the account receiver with the id the ESME was given', async () => {
    stack = await startStack({ sim: { receiptIdFormat: 'upper-padded' } });
    const tx = await stack.esme('transmitter');
    const rx = await stack.esme('receiver');
    const r = await tx.submit(sm({ registered_delivery: 1 }));
    expect(r.status).toBe(0);
    const [d] = await rx.waitDeliveries(1, 3000);
    expect(d!.view.isReceipt).toBe(true);
    const quoted = parseReceiptText(d!.view.shortMessage.toString('latin1'))!.id;
    expect(quoted.toLowerCase().replace(/^0+/, '')).toBe(r.messageId.replace(/^0+/, ''));
    await waitFor(() => stack!.sim.stats.receiptsAcked === 1, 1000, 'receipt ack at the SMSC');
  });

  it('normalises hex ids quoted as decimal in the receipt', async () => {
    stack = await startStack({ sim: { idFormat: 'hex', receiptIdFormat: 'dec' } });
    const esme = await stack.esme('transceiver');
    const r = await esme.submit(sm({ registered_delivery: 1 }));
    const [d] = await esme.waitDeliveries(1, 3000);
    const quoted = d!.view.tlv(Tag.receipted_message_id)!.toString('latin1').replace(/\0$/, '');
    expect(BigInt(quoted)).toBe(BigInt('0x' + r.messageId));
  });

  it('holds a receipt while no receiver is bound and delivers it when one binds', async () => {
    stack = await startStack();
    const tx = await stack.esme('transmitter');
    const r = await tx.submit(sm({ registered_delivery: 1 }));
    await waitFor(() => stack!.sim.stats.receiptsAcked === 1, 3000, 'receipt acknowledged by the gateway');
    expect(await (stack.gw.relay['deps'].held as HeldDeliveries).count('esme')).toBe(1);
    const rx = await stack.esme('receiver');
    const [d] = await rx.waitDeliveries(1, 3000);
    expect(parseReceiptText(d!.view.shortMessage.toString('latin1'))!.id).toBe(r.messageId);
    await waitFor(() => rx.deliveries.length === 1, 100, 'x');
    await new Promise((res) => setTimeout(res, 50));
    expect(await (stack.gw.relay['deps'].held as HeldDeliveries).count('esme')).toBe(0);
  });

  it('routes an MO by destination prefix and refuses one nobody owns', async () => {
    stack = await startStack();
    const rx = await stack.esme('receiver');
    expect(await stack.sim.injectMo({ source: '8613800138000', destination: '106900011', text: 'TD' })).toBe(true);
    const [d] = await rx.waitDeliveries(1, 2000);
    expect(d!.view.shortMessage.toString()).toBe('TD');
    expect(d!.view.isReceipt).toBe(false);
    expect(await stack.sim.injectMo({ source: '8613800138000', destination: '5555', text: 'x' })).toBe(false);
  });
});

describe('upstream bind and limits', () => {
  it('refuses a bad password, an unknown system_id (both 0x0D: one answer for every authentication failure) and too many binds 0x0D', async () => {
    stack = await startStack();
    const c1 = await connect('127.0.0.1', stack.gw.smppPort);
    expect(await c1.bind('transceiver', 'esme', 'wrong')).toBe(Status.ESME_RBINDFAIL);
    const c2 = await connect('127.0.0.1', stack.gw.smppPort);
    expect(await c2.bind('transceiver', 'nobody', 'secret')).toBe(Status.ESME_RBINDFAIL);
    await stack.esme('transceiver', 'other');
    await stack.esme('transceiver', 'other');
    const c3 = await connect('127.0.0.1', stack.gw.smppPort);
    expect(await c3.bind('transceiver', 'other', 'secret')).toBe(Status.ESME_RBINDFAIL);
  });

  it('refuses a bind from an IP outside allowed_ips with 0x0D', async () => {
    stack = await startStack({ cfg: (c) => void (c.accounts[0]!.allowed_ips = ['10.0.0.0/8']) });
    const c = await connect('127.0.0.1', stack.gw.smppPort);
    expect(await c.bind('transceiver', 'esme', 'secret')).toBe(Status.ESME_RBINDFAIL);
  });

  it('answers ESME_RINVBNDSTS to a submit before bind and answers enquire_link', async () => {
    stack = await startStack();
    const c = await connect('127.0.0.1', stack.gw.smppPort);
    const el = await c.request(Command.enquire_link);
    expect(el.readUInt32BE(4)).toBe(Command.enquire_link_resp);
    const r = await c.submit(sm());
    expect(r.status).toBe(Status.ESME_RINVBNDSTS);
  });

  it('throttles over the window with 0x58 and over TPS with 0x58', async () => {
    stack = await startStack({ sim: { responseDelayMs: 300 } });
    const c = await stack.esme('transmitter', 'other');
    const results = await Promise.all(Array.from({ length: 15 }, () => c.submit(sm())));
    expect(results.filter((r) => r.status === Status.ESME_RTHROTTLED).length).toBe(5);
    expect(results.filter((r) => r.status === 0).length).toBe(10);
  });

  it('throttles over the account TPS with 0x58', async () => {
    stack = await startStack({ cfg: (c) => void (c.accounts[0]!.tps = 5) });
    const c = await stack.esme('transmitter');
    const results = await Promise.all(Array.from({ length: 12 }, () => c.submit(sm())));
    const throttled = results.filter((r) => r.status === Status.ESME_RTHROTTLED).length;
    expect(throttled).toBeGreaterThanOrEqual(6);
    expect(throttled).toBeLessThanOrEqual(7);
  });

  it('serves /metrics and /readyz', async () => {
    stack = await startStack();
    const esme = await stack.esme('transmitter');
    await esme.submit(sm());
    const ready = await fetch(`http://127.0.0.1:${stack.gw.httpPort}/readyz`);
    expect(ready.status).toBe(200);
    const text = await (await fetch(`http://127.0.0.1:${stack.gw.httpPort}/metrics`)).text();
    expect(text).toMatch(/smppguard_pdus_total\{side="upstream",direction="in",command="submit_sm",status="ESME_ROK"\} 1/);
    expect(text).toMatch(/smppguard_smsc_link_up\{smsc="sim",link="0"\} 1/);
    expect(text).toMatch(/smppguard_binds_active\{account="esme",type="transmitter"\} 1/);
  });
});
