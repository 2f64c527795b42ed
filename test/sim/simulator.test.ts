/**
 * The SMSC simulator over real TCP (127.0.0.1, ephemeral ports): binds, keepalive, submits,
 * receipts, MO, misbehaviour on request, link drops, recording.
 */
import { connect as netConnect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Command } from '../../src/protocol/commands.js';
import { decode, str } from '../../src/protocol/decode.js';
import { encodeEmpty, encodePdu } from '../../src/protocol/encode.js';
import { parseReceiptText, receiptMessageId } from '../../src/protocol/receipt.js';
import { Status } from '../../src/protocol/status.js';
import { Tag } from '../../src/protocol/tlv.js';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../src/sim/index.js';
import { connect, type EsmeClient } from '../helpers/esme-client.js';

const HOST = '127.0.0.1';
let sims: Simulator[] = [];
let clients: EsmeClient[] = [];

afterEach(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all(sims.map((s) => s.close()));
  clients = [];
  sims = [];
});

async function sim(opts: Partial<SimulatorOptions> = {}): Promise<Simulator> {
  const s = await startSimulator({ port: 0, receiptDelayMs: 20, ...opts });
  sims.push(s);
  return s;
}

async function client(s: Simulator): Promise<EsmeClient> {
  const c = await connect(HOST, s.port);
  clients.push(c);
  return c;
}

async function bound(s: Simulator, kind: 'transmitter' | 'receiver' | 'transceiver' = 'transceiver'): Promise<EsmeClient> {
  const c = await client(s);
  expect(await c.bind(kind)).toBe(Status.ESME_ROK);
  return c;
}

const SUBMIT = {
  source_addr_ton: 0,
  source_addr_npi: 1,
  source_addr: '10690001',
  dest_addr_ton: 1,
  dest_addr_npi: 1,
  destination_addr: '8613800138000',
  registered_delivery: 1,
  short_message: 'hello from the test suite',
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, timeoutMs = 1000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(5);
  }
}

describe('bind', () => {
  it('accepts every bind kind and answers system_id smsc-sim', async () => {
    const s = await sim();
    for (const kind of ['transmitter', 'receiver', 'transceiver'] as const) {
      const c = await client(s);
      const resp = await c.request(
        { transmitter: Command.bind_transmitter, receiver: Command.bind_receiver, transceiver: Command.bind_transceiver }[kind],
        { system_id: 'any', password: 'any' },
      );
      const d = decode(resp);
      expect(d.ok && d.pdu.status).toBe(0);
      expect(d.ok && str(d.pdu.fields.system_id)).toBe('smsc-sim');
    }
    expect(s.stats.binds).toBe(3);
    expect(s.stats.connections).toBe(3);
  });

  it('checks system_id then password when configured, and refuses a second bind', async () => {
    const s = await sim({ systemId: 'gw', password: 'pw' });
    const c = await client(s);
    expect(await c.bind('transmitter', 'other', 'pw')).toBe(Status.ESME_RINVSYSID);
    expect(await c.bind('transmitter', 'gw', 'wrong')).toBe(Status.ESME_RINVPASWD);
    expect(await c.bind('transmitter', 'gw', 'pw')).toBe(Status.ESME_ROK);
    expect(await c.bind('receiver', 'gw', 'pw')).toBe(Status.ESME_RALYBND);
  });

  it('answers out-of-state PDUs before bind with ESME_RINVBNDSTS', async () => {
    const s = await sim();
    const c = await client(s);
    const r = await c.submit(SUBMIT);
    expect(r).toMatchObject({ status: Status.ESME_RINVBNDSTS, commandId: Command.submit_sm_resp });
    const q = await c.request(Command.query_sm, { message_id: '1', source_addr: '1' });
    expect(q.readUInt32BE(4)).toBe(Command.query_sm_resp);
    expect(q.readUInt32BE(8)).toBe(Status.ESME_RINVBNDSTS);
    const seq = c.nextSequence();
    c.send(encodePdu(Command.outbind, 0, seq, { system_id: 'x', password: 'y' }));
    const nack = await c.waitFor((p) => p.readUInt32BE(12) === seq);
    expect([nack.readUInt32BE(4), nack.readUInt32BE(8)]).toEqual([Command.generic_nack, Status.ESME_RINVBNDSTS]);
  });

  it('a receiver may not submit', async () => {
    const s = await sim();
    const c = await bound(s, 'receiver');
    expect((await c.submit(SUBMIT)).status).toBe(Status.ESME_RINVBNDSTS);
  });
});

describe('keepalive and unbind', () => {
  it('answers enquire_link before and after bind', async () => {
    const s = await sim();
    const c = await client(s);
    const r1 = await c.request(Command.enquire_link);
    expect([r1.readUInt32BE(4), r1.readUInt32BE(8)]).toEqual([Command.enquire_link_resp, 0]);
    await c.bind('transmitter');
    await c.request(Command.enquire_link);
    expect(s.stats.enquireLinks).toBe(2);
  });

  it('answers unbind and closes the link', async () => {
    const s = await sim();
    const c = await bound(s);
    expect(await c.unbind()).toBe(0);
    expect(c.isOpen).toBe(false);
  });
});

describe('submit', () => {
  it('answers submit_sm with a fresh lowercase hex message id', async () => {
    const s = await sim();
    const c = await bound(s, 'transmitter');
    const a = await c.submit({ ...SUBMIT, registered_delivery: 0 });
    const b = await c.submit({ ...SUBMIT, registered_delivery: 0 });
    expect(a.status).toBe(0);
    expect(a.messageId).toMatch(/^[0-9a-f]+$/);
    expect(BigInt('0x' + b.messageId) - BigInt('0x' + a.messageId)).toBe(1n);
    expect(s.stats.submits).toBe(2);
  });

  it('answers data_sm with data_sm_resp, and decimal ids with idFormat dec', async () => {
    const s = await sim({ idFormat: 'dec' });
    const c = await bound(s, 'transmitter');
    const r = await c.submit(
      { source_addr: '10690001', destination_addr: '8613800138000', registered_delivery: 0 },
      [{ tag: Tag.message_payload, value: Buffer.from('payload text') }],
      Command.data_sm,
    );
    expect(r).toMatchObject({ status: 0, commandId: Command.data_sm_resp });
    expect(r.messageId).toMatch(/^[0-9]+$/);
    expect(s.stats.dataSms).toBe(1);
  });

  it('answers malformed submits with an error status or generic_nack', async () => {
    const s = await sim();
    const c = await bound(s, 'transmitter');
    // source_addr of 30 octets: ESME_RINVSRCADR in submit_sm_resp
    const long = encodePdu(Command.submit_sm, 0, 0, { ...SUBMIT });
    const bad = Buffer.concat([long.subarray(0, 19), Buffer.alloc(30, 0x31), long.subarray(19)]);
    bad.writeUInt32BE(bad.length, 0);
    const seq = c.nextSequence();
    bad.writeUInt32BE(seq, 12);
    c.send(bad);
    const r = await c.waitFor((p) => p.readUInt32BE(12) === seq);
    expect([r.readUInt32BE(4), r.readUInt32BE(8)]).toEqual([Command.submit_sm_resp, Status.ESME_RINVSRCADR]);
    // body cut short: generic_nack ESME_RINVCMDLEN
    const seq2 = c.nextSequence();
    const short = Buffer.alloc(20);
    short.writeUInt32BE(20, 0);
    short.writeUInt32BE(Command.submit_sm, 4);
    short.writeUInt32BE(seq2, 12);
    short.write('abc', 16, 'latin1');
    c.send(short);
    const r2 = await c.waitFor((p) => p.readUInt32BE(12) === seq2);
    expect([r2.readUInt32BE(4), r2.readUInt32BE(8)]).toEqual([Command.generic_nack, Status.ESME_RINVCMDLEN]);
    // unknown command once bound: generic_nack ESME_RINVCMDID
    const seq3 = c.nextSequence();
    c.send(encodeEmpty(0x00000777, 0, seq3));
    const r3 = await c.waitFor((p) => p.readUInt32BE(12) === seq3);
    expect([r3.readUInt32BE(4), r3.readUInt32BE(8)]).toEqual([Command.generic_nack, Status.ESME_RINVCMDID]);
    expect(c.isOpen).toBe(true);
  });

  it('closes only the link whose stream cannot be framed', async () => {
    const s = await sim();
    const good = await bound(s, 'transmitter');
    const bad = await bound(s, 'transmitter');
    const garbage = Buffer.alloc(16);
    garbage.writeUInt32BE(8, 0);
    bad.send(garbage);
    const nack = await bad.waitFor((p) => p.readUInt32BE(4) === Command.generic_nack);
    expect(nack.readUInt32BE(8)).toBe(Status.ESME_RINVCMDLEN);
    await bad.closed;
    expect((await good.submit(SUBMIT)).status).toBe(0);
  });

  it('answers errorStatus for the errorRatio share', async () => {
    const s = await sim({ errorStatus: 0x58, errorRatio: 1 });
    const c = await bound(s, 'transmitter');
    expect((await c.submit(SUBMIT)).status).toBe(Status.ESME_RTHROTTLED);
    expect(s.stats.errorsAnswered).toBe(1);
    s.setBehaviour({ errorRatio: 0 });
    expect((await c.submit(SUBMIT)).status).toBe(0);
  });

  it('blackhole reads submits but never answers them', async () => {
    const s = await sim({ blackhole: true });
    const c = await bound(s, 'transmitter');
    const seq = c.nextSequence();
    c.send(encodePdu(Command.submit_sm, 0, seq, SUBMIT));
    await expect(c.waitFor((p) => p.readUInt32BE(12) === seq, 300)).rejects.toThrow(/timed out/);
    expect(s.stats.submits).toBe(1);
    s.setBehaviour({ blackhole: false });
    expect((await c.submit(SUBMIT)).status).toBe(0);
  });

  it('responseDelayMs delays the answer', async () => {
    const s = await sim({ responseDelayMs: 120 });
    const c = await bound(s, 'transmitter');
    const t0 = Date.now();
    const [a, b] = await Promise.all([c.submit(SUBMIT), c.submit(SUBMIT)]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(110);
    expect([a.status, b.status]).toEqual([0, 0]);
  });

  it('record keeps a copy of every submit_sm and data_sm', async () => {
    const s = await sim({ record: true });
    const c = await bound(s, 'transmitter');
    await c.submit(SUBMIT, [{ tag: 0x1400, value: Buffer.from('PE123') }]);
    await c.submit({ source_addr: '1', destination_addr: '2' }, [], Command.data_sm);
    expect(s.received).toHaveLength(2);
    const first = decode(s.received[0]!);
    expect(first.ok && str(first.pdu.fields.short_message)).toBe(SUBMIT.short_message);
    expect(first.ok && first.pdu.tlvs[0]!.value.toString()).toBe('PE123');
    expect(s.received[1]!.readUInt32BE(4)).toBe(Command.data_sm);
  });

  it('keeps nothing when record is off', async () => {
    const s = await sim();
    const c = await bound(s, 'transmitter');
    await c.submit(SUBMIT);
    expect(s.received).toHaveLength(0);
  });
});

describe('delivery receipts', () => {
  it.each([
    ['same', (id: string) => id],
    ['dec', (id: string) => BigInt('0x' + id).toString(10)],
    ['upper-padded', (id: string) => id.toUpperCase().padStart(16, '0')],
  ] as const)('sends a receipt on the transceiver quoting the id as %s', async (format, expected) => {
    const s = await sim({ receiptIdFormat: format });
    const c = await bound(s, 'transceiver');
    const r = await c.submit(SUBMIT);
    const [d] = await c.waitDeliveries(1);
    const v = d!.view;
    expect(v.esmClass).toBe(0x04);
    expect(v.sourceAddr).toBe(SUBMIT.destination_addr);
    expect([v.sourceTon, v.sourceNpi]).toEqual([1, 1]);
    expect(v.destinationAddr).toBe(SUBMIT.source_addr);
    expect([v.destTon, v.destNpi]).toEqual([0, 1]);
    const want = expected(r.messageId);
    expect(v.tlv(Tag.receipted_message_id)).toEqual(Buffer.from(want + '\0', 'latin1'));
    expect(v.tlv(Tag.message_state)).toEqual(Buffer.from([2]));
    expect(receiptMessageId(v.tlvs, v.shortMessage)).toBe(want);
    const text = parseReceiptText(v.shortMessage.toString('latin1'));
    expect(text).toMatchObject({ id: want, stat: 'DELIVRD', err: '000', dlvrd: '001', text: 'hello from the test' });
    await until(() => s.stats.receiptsAcked === 1); // the deliver_sm_resp travels back
    expect(s.stats).toMatchObject({ receiptsSent: 1, receiptsAcked: 1 });
  });

  it('reports failures with stat:UNDELIV err:001 when receiptSuccessRatio is 0', async () => {
    const s = await sim({ receiptSuccessRatio: 0 });
    const c = await bound(s);
    await c.submit(SUBMIT);
    const [d] = await c.waitDeliveries(1);
    expect(parseReceiptText(d!.view.shortMessage.toString('latin1'))).toMatchObject({ stat: 'UNDELIV', err: '001' });
    expect(d!.view.tlv(Tag.message_state)).toEqual(Buffer.from([5]));
  });

  it('sends no receipt when registered_delivery does not ask', async () => {
    const s = await sim({ receiptDelayMs: 0 });
    const c = await bound(s);
    await c.submit({ ...SUBMIT, registered_delivery: 0 });
    await sleep(50);
    expect(c.deliveries).toHaveLength(0);
  });

  it('keeps a receipt until a receiver binds, then delivers it there', async () => {
    const s = await sim({ receiptDelayMs: 0 });
    const tx = await bound(s, 'transmitter');
    const r = await tx.submit(SUBMIT);
    await sleep(50);
    expect(s.stats.receiptsSent).toBe(0);
    const rx = await bound(s, 'receiver');
    const [d] = await rx.waitDeliveries(1);
    expect(receiptMessageId(d!.view.tlvs, d!.view.shortMessage)).toBe(r.messageId);
    expect(tx.deliveries).toHaveLength(0);
  });

  it('re-sends a receipt whose link dropped before acknowledging it', async () => {
    const s = await sim({ receiptDelayMs: 0 });
    const tx = await bound(s, 'transmitter');
    const rx1 = await bound(s, 'receiver');
    rx1.onDeliver(() => {
      rx1.close(); // gone before the deliver_sm_resp is written
    });
    const r = await tx.submit(SUBMIT);
    await rx1.closed;
    const rx2 = await bound(s, 'receiver');
    const [d] = await rx2.waitDeliveries(1);
    expect(receiptMessageId(d!.view.tlvs, d!.view.shortMessage)).toBe(r.messageId);
    expect(s.stats.receiptsSent).toBe(2);
  });
});

describe('MO injection', () => {
  it('delivers an MO deliver_sm and resolves true on ESME_ROK', async () => {
    const s = await sim();
    const c = await bound(s, 'receiver');
    const ok = await s.injectMo({ source: '8613800138000', destination: '10690001', text: 'STOP' });
    expect(ok).toBe(true);
    const v = c.deliveries[0]!.view;
    expect([v.esmClass, v.dataCoding, v.sourceAddr, v.destinationAddr]).toEqual([0, 0, '8613800138000', '10690001']);
    expect(v.shortMessage.toString('latin1')).toBe('STOP');
    expect(s.stats).toMatchObject({ moSent: 1, moAcked: 1 });
  });

  it('sends non-ASCII text as UCS-2 and passes TLVs', async () => {
    const s = await sim();
    const c = await bound(s);
    const ok = await s.injectMo({
      source: '8613800138000',
      destination: '10690001',
      text: '退订',
      tlvs: [{ tag: 0x1500, value: Buffer.from([1, 2]) }],
    });
    expect(ok).toBe(true);
    const v = c.deliveries[0]!.view;
    expect(v.dataCoding).toBe(8);
    expect(v.shortMessage.swap16().toString('utf16le')).toBe('退订');
    expect(v.tlv(0x1500)).toEqual(Buffer.from([1, 2]));
  });

  it('resolves false when the ESME answers an error or no receiver is bound', async () => {
    const s = await sim();
    expect(await s.injectMo({ source: '1', destination: '2', text: 'x' })).toBe(false);
    await bound(s, 'transmitter');
    expect(await s.injectMo({ source: '1', destination: '2', text: 'x' })).toBe(false);
    const rx = await bound(s, 'receiver');
    rx.onDeliver(() => Status.ESME_RX_T_APPN);
    expect(await s.injectMo({ source: '1', destination: '2', text: 'x' })).toBe(false);
    expect(s.stats).toMatchObject({ moSent: 1, moAcked: 0 });
  });

  it('round-robins over receiver links', async () => {
    const s = await sim();
    const a = await bound(s, 'receiver');
    const b = await bound(s, 'transceiver');
    await s.injectMo({ source: '1', destination: '2', text: 'one' });
    await s.injectMo({ source: '1', destination: '2', text: 'two' });
    expect([a.deliveries.length, b.deliveries.length]).toEqual([1, 1]);
  });
});

describe('dropLinks', () => {
  it('closes every link and refuses connections for refuseMs', async () => {
    const s = await sim();
    const a = await bound(s);
    const b = await bound(s, 'transmitter');
    s.dropLinks({ refuseMs: 150 });
    await Promise.all([a.closed, b.closed]);
    const refused = await new Promise<string>((resolve) => {
      const sock = netConnect({ host: HOST, port: s.port });
      sock.on('error', () => {});
      sock.on('close', () => resolve('closed'));
    });
    expect(refused).toBe('closed');
    await sleep(170);
    const c = await bound(s);
    expect((await c.submit(SUBMIT)).status).toBe(0);
    expect(s.stats.connections).toBe(3);
  });
});
