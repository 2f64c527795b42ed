/**
 * Interop with an independent SMPP implementation: the `smpp` npm package (farhadi/node-smpp).
 * (a) the package as an ESME binding to the gateway (SMSC simulator behind it);
 * (b) the package as the SMSC behind the gateway, our raw test ESME (and the package as ESME too)
 *     in front, checking that what the package's SMSC receives is byte-for-byte what the ESME sent.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Command } from '../../src/protocol/commands.js';
import { encodePdu, type FieldValue } from '../../src/protocol/encode.js';
import { Status } from '../../src/protocol/status.js';
import { Tag, type Tlv } from '../../src/protocol/tlv.js';
import { parseReceiptText } from '../../src/protocol/receipt.js';
import type { DlrMap } from '../../src/store/dlr-map.js';
import { connect, type EsmeClient } from '../helpers/esme-client.js';
import { pkgClosed, pkgConnect, pkgRequest, smpp, startPkgSmsc, type PkgPdu, type PkgSession, type PkgSmsc } from '../helpers/smpp-pkg.js';
import { startGateway, startStack, waitFor, type GatewayStack, type Stack } from '../helpers/stack.js';

const ucs2 = (s: string): Buffer => Buffer.from(s, 'utf16le').swap16();

/** Everything but the sequence number (bytes 12..15). */
function withoutSequence(pdu: Buffer): Buffer {
  return Buffer.concat([pdu.subarray(0, 12), pdu.subarray(16)]);
}

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
});

describe('smpp package as ESME → gateway → simulator', () => {
  let stack: Stack;
  async function pkgEsme(): Promise<PkgSession> {
    const s = await pkgConnect(stack.gw.smppPort);
    cleanups.push(async () => s.destroy());
    return s;
  }

  it('binds, submits, gets ESME_ROK with message ids and the delivery receipt as deliver_sm', async () => {
    stack = await startStack({ sim: { record: true } });
    cleanups.push(() => stack.stop());
    const s = await pkgEsme();
    const receipts: PkgPdu[] = [];
    s.on('deliver_sm', (pdu: PkgPdu) => {
      receipts.push(pdu);
      s.send(pdu.response());
    });

    const bind = await pkgRequest(s, 'bind_transceiver', { system_id: 'esme', password: 'secret' });
    expect(bind.command).toBe('bind_transceiver_resp');
    expect(bind.command_status).toBe(0);
    expect(bind.system_id).toBe('smppguard');

    const el = await pkgRequest(s, 'enquire_link');
    expect(el.command).toBe('enquire_link_resp');

    const r1 = await pkgRequest(s, 'submit_sm', {
      source_addr_ton: 1,
      source_addr_npi: 1,
      source_addr: '10690001',
      dest_addr_ton: 1,
      dest_addr_npi: 1,
      destination_addr: '8613800138000',
      short_message: 'hello from node-smpp',
    });
    expect(r1.command).toBe('submit_sm_resp');
    expect(r1.command_status).toBe(0);
    expect(String(r1.message_id)).toMatch(/^[0-9a-f]+$/);

    // UCS-2 with a surrogate pair, encoded by the package itself.
    const r2 = await pkgRequest(s, 'submit_sm', {
      source_addr: '10690001',
      destination_addr: '8613800138001',
      data_coding: 8,
      short_message: '你好 😀',
      registered_delivery: 1,
    });
    expect(r2.command_status).toBe(0);
    expect(r2.message_id).not.toBe(r1.message_id);

    expect(stack.sim.received).toHaveLength(2);
    // What reached the SMSC decodes, with the package's own decoder, to what the package sent.
    const atSmsc = new smpp.PDU(stack.sim.received[1]!);
    expect(atSmsc.command).toBe('submit_sm');
    expect(atSmsc.data_coding).toBe(8);
    expect((atSmsc.short_message as { message: string }).message).toBe('你好 😀');
    expect(stack.sim.received[1]!.subarray(-10)).toEqual(ucs2('你好 😀'));

    await waitFor(() => receipts.length === 1, 3000, 'the delivery receipt');
    const dr = receipts[0]!;
    expect((dr.esm_class as number) & 0x3c).toBe(0x04);
    expect(dr.receipted_message_id).toBe(r2.message_id);
    expect(dr.message_state).toBe(2);
    const text = (dr.short_message as { message: string }).message;
    expect(parseReceiptText(text)?.id).toBe(r2.message_id);
    expect(dr.source_addr).toBe('8613800138001');
    expect(dr.destination_addr).toBe('10690001');
    await waitFor(() => stack.sim.stats.receiptsAcked === 1, 2000, 'the receipt acknowledged at the SMSC');

    const unbind = await pkgRequest(s, 'unbind');
    expect(unbind.command).toBe('unbind_resp');
    await pkgClosed(s);
  });

  it('gets 0x0D for a bad password and for an unknown system_id (one answer for every authentication failure), and the link is closed', async () => {
    stack = await startStack();
    cleanups.push(() => stack.stop());
    const s = await pkgEsme();
    const closed = pkgClosed(s);
    const r = await pkgRequest(s, 'bind_transceiver', { system_id: 'esme', password: 'wrong' });
    expect(r.command).toBe('bind_transceiver_resp');
    expect(r.command_status).toBe(Status.ESME_RBINDFAIL);
    await closed;

    const s2 = await pkgEsme();
    const r2 = await pkgRequest(s2, 'bind_transmitter', { system_id: 'nobody', password: 'secret' });
    expect(r2.command).toBe('bind_transmitter_resp');
    expect(r2.command_status).toBe(Status.ESME_RBINDFAIL);
    await pkgClosed(s2);

    // A good bind still works afterwards.
    const s3 = await pkgEsme();
    expect((await pkgRequest(s3, 'bind_transmitter', { system_id: 'esme', password: 'secret' })).command_status).toBe(0);
  });
});

describe('smpp package as the SMSC behind the gateway', () => {
  let pkg: PkgSmsc;
  let g: GatewayStack;

  async function start(): Promise<void> {
    pkg = await startPkgSmsc();
    cleanups.push(() => pkg.close());
    g = await startGateway(pkg.port);
    cleanups.push(() => g.stop());
    await waitFor(() => pkg.links.length === 2, 2000, 'both gateway binds at the package SMSC');
  }

  /** The message id → account entry is written to Redis asynchronously: wait until it is there. */
  async function receiptMapped(messageId: string): Promise<void> {
    const dlrMap = g.gw.relay['deps'].dlrMap as DlrMap;
    const deadline = Date.now() + 2000;
    while ((await dlrMap.lookup(messageId)) !== 'esme') {
      if (Date.now() > deadline) throw new Error(`message id ${messageId} never mapped to its account`);
      await new Promise((res) => setTimeout(res, 5));
    }
  }

  /** Sends `pdu` raw on `esme` and resolves with the response carrying its sequence number. */
  async function rawRequest(esme: EsmeClient, pdu: Buffer): Promise<Buffer> {
    const seq = pdu.readUInt32BE(12);
    const answer = esme.waitFor((p) => p.readUInt32BE(12) === seq && (p.readUInt32BE(4) & 0x80000000) !== 0, 2000);
    esme.send(pdu);
    return answer;
  }

  const PE_ID = Buffer.from('1101234567890123456', 'latin1');
  const TEMPLATE_ID = Buffer.from('1107160000000012345', 'latin1');
  const TEXT = '【银行】验证码 123456 😀';

  function dltSubmit(seq: number, extra: Record<string, FieldValue> = {}, tlvs: Tlv[] = []): Buffer {
    return encodePdu(
      Command.submit_sm,
      0,
      seq,
      {
        service_type: '',
        source_addr_ton: 5,
        source_addr_npi: 0,
        source_addr: 'BRANDX',
        dest_addr_ton: 1,
        dest_addr_npi: 1,
        destination_addr: '919876543210',
        esm_class: 0x40,
        protocol_id: 0,
        priority_flag: 1,
        schedule_delivery_time: '',
        validity_period: '000001000000000R',
        registered_delivery: 1,
        replace_if_present_flag: 0,
        data_coding: 8,
        sm_default_msg_id: 0,
        short_message: Buffer.concat([Buffer.from([0x05, 0x00, 0x03, 0x7e, 0x01, 0x01]), ucs2(TEXT)]),
        ...extra,
      },
      [
        { tag: 0x1400, value: PE_ID },
        { tag: 0x1401, value: TEMPLATE_ID },
        { tag: 0x3fff, value: Buffer.from([0xde, 0xad, 0x00, 0xbe, 0xef]) },
        ...tlvs,
      ],
    );
  }

  it('receives vendor TLVs, UDH and UCS-2 byte-exact; its answers reach the ESME unchanged', async () => {
    await start();
    const esme = await g.esme('transceiver');
    const sent = dltSubmit(0x1234);
    const expectedId = pkg.nextId();
    const resp = await rawRequest(esme, Buffer.from(sent));
    expect(resp.readUInt32BE(4)).toBe(Command.submit_sm_resp);
    expect(resp.readUInt32BE(8)).toBe(0);
    expect(resp.readUInt32BE(12)).toBe(0x1234);

    expect(pkg.received).toHaveLength(1);
    const { pdu, raw } = pkg.received[0]!;
    // Raw bytes off the package SMSC's socket: identical apart from the sequence number.
    expect(raw.length).toBe(sent.length);
    expect(withoutSequence(raw)).toEqual(withoutSequence(sent));

    // And the package's decoder sees the same message.
    expect(pdu.command).toBe('submit_sm');
    expect(pdu.source_addr).toBe('BRANDX');
    expect(pdu.destination_addr).toBe('919876543210');
    expect(pdu.esm_class).toBe(0x40);
    expect(pdu.data_coding).toBe(8);
    expect(pdu.registered_delivery).toBe(1);
    const sm = pdu.short_message as { udh: Buffer[]; message: string };
    expect(sm.udh.map((b) => b.toString('hex'))).toEqual(['00037e0101']);
    expect(sm.message).toBe(TEXT);
    // Tags the package does not know are kept under their numeric id.
    expect(pdu[0x1400]).toEqual(PE_ID);
    expect(pdu[0x1401]).toEqual(TEMPLATE_ID);
    expect(pdu[0x3fff]).toEqual(Buffer.from([0xde, 0xad, 0x00, 0xbe, 0xef]));

    // The submit_sm_resp the ESME got is the one the package SMSC wrote, apart from the sequence.
    const fromSmsc = pkg.links
      .flatMap((l) => l.sent)
      .find((p) => p.readUInt32BE(4) === Command.submit_sm_resp && p.readUInt32BE(12) === raw.readUInt32BE(12));
    expect(fromSmsc).toBeDefined();
    expect(withoutSequence(resp)).toEqual(withoutSequence(fromSmsc!));
    expect(resp.toString('latin1', 16, resp.length - 1)).toBe(expectedId);
  });

  it('passes a receipt and an MO from the package SMSC to the ESME and its answers back', async () => {
    await start();
    const esme = await g.esme('transceiver');
    const id = pkg.nextId();
    expect(await rawRequest(esme, dltSubmit(7)).then((r) => r.readUInt32BE(8))).toBe(0);
    expect(pkg.received).toHaveLength(1);
    const link = pkg.links.find((l) => l.sent.some((p) => p.readUInt32BE(4) === Command.submit_sm_resp))!;
    await receiptMapped(id);

    // Receipt built by the package (text + receipted_message_id + message_state).
    const dlrResp = await link.deliver({
      source_addr_ton: 1,
      source_addr_npi: 1,
      source_addr: '919876543210',
      dest_addr_ton: 5,
      dest_addr_npi: 0,
      destination_addr: 'BRANDX',
      esm_class: 0x04,
      data_coding: 1,
      short_message: `id:${id} sub:001 dlvrd:001 submit date:2401011200 done date:2401011201 stat:DELIVRD err:000 text:x`,
      receipted_message_id: id,
      message_state: 2,
    });
    expect(dlrResp.command).toBe('deliver_sm_resp');
    expect(dlrResp.command_status).toBe(0);
    const [dr] = await esme.waitDeliveries(1, 2000);
    expect(dr!.view.isReceipt).toBe(true);
    expect(dr!.view.tlv(Tag.receipted_message_id)!.toString('latin1')).toBe(`${id}\0`);
    expect(parseReceiptText(dr!.view.shortMessage.toString('latin1'))?.id).toBe(id);

    // MO built by the package, routed by destination prefix 10690 → account esme.
    const moResp = await link.deliver({ source_addr: '8613800138000', destination_addr: '106900011', short_message: 'TD' });
    expect(moResp.command_status).toBe(0);
    const deliveries = await esme.waitDeliveries(2, 2000);
    expect(deliveries[1]!.view.shortMessage.toString('latin1')).toBe('TD');
    expect(deliveries[1]!.view.isReceipt).toBe(false);

    // SMSC → ESME byte-exact too: a deliver_sm with a vendor TLV the package cannot build, written raw.
    const mo = encodePdu(
      Command.deliver_sm,
      0,
      1,
      {
        service_type: '',
        source_addr_ton: 1,
        source_addr_npi: 1,
        source_addr: '8613800138000',
        dest_addr_ton: 0,
        dest_addr_npi: 0,
        destination_addr: '1069000',
        esm_class: 0x40,
        data_coding: 8,
        short_message: Buffer.concat([Buffer.from([0x05, 0x00, 0x03, 0x01, 0x01, 0x01]), ucs2('退订 😀')]),
      },
      [{ tag: 0x1402, value: Buffer.from('vendor') }],
    );
    const rawResp = await link.sendRaw(Buffer.from(mo));
    expect(rawResp.command).toBe('deliver_sm_resp');
    expect(rawResp.command_status).toBe(0);
    const third = (await esme.waitDeliveries(3, 2000))[2]!;
    expect(withoutSequence(third.raw)).toEqual(withoutSequence(mo));
  });

  it('carries a message from the package as ESME through the gateway to the package as SMSC, and its receipt back', async () => {
    await start();
    const s = await pkgConnect(g.gw.smppPort);
    cleanups.push(async () => s.destroy());
    const got: PkgPdu[] = [];
    s.on('deliver_sm', (pdu: PkgPdu) => {
      got.push(pdu);
      s.send(pdu.response());
    });
    expect((await pkgRequest(s, 'bind_transceiver', { system_id: 'esme', password: 'secret' })).command_status).toBe(0);
    const r = await pkgRequest(s, 'submit_sm', {
      source_addr: '10690001',
      destination_addr: '8613800138000',
      registered_delivery: 1,
      short_message: { udh: Buffer.from([0x05, 0x00, 0x03, 0x09, 0x02, 0x01]), message: 'part one' },
    });
    expect(r.command_status).toBe(0);
    expect(r.message_id).toBe((0xa0b0c000).toString(16));
    const atSmsc = pkg.received[0]!.pdu;
    expect(atSmsc.esm_class).toBe(0x40);
    expect((atSmsc.short_message as { message: string }).message).toBe('part one');
    await receiptMapped(String(r.message_id));
    const link = pkg.links.find((l) => l.sent.some((p) => p.readUInt32BE(4) === Command.submit_sm_resp))!;
    const dr = await link.deliver({
      source_addr: '8613800138000',
      destination_addr: '10690001',
      esm_class: 0x04,
      short_message: `id:${String(r.message_id).toUpperCase()} sub:001 dlvrd:001 submit date:2401011200 done date:2401011201 stat:DELIVRD err:000 text:part one`,
    });
    expect(dr.command_status).toBe(0);
    await waitFor(() => got.length === 1, 2000, 'the receipt at the package ESME');
    expect(got[0]!.esm_class).toBe(0x04);
    expect((got[0]!.short_message as { message: string }).message).toContain(`id:${String(r.message_id).toUpperCase()}`);
  });

  it('keeps the link alive with enquire_link, answers the SMSC\'s, and rebinds when the SMSC stops answering', async () => {
    pkg = await startPkgSmsc();
    cleanups.push(() => pkg.close());
    g = await startGateway(pkg.port, {
      cfg: (c) => {
        c.downstream.enquire_link_s = 1;
        c.downstream.response_timeout_ms = 400;
      },
    });
    cleanups.push(() => g.stop());
    await waitFor(() => pkg.links.length === 2, 2000, 'both gateway binds');
    // The SMSC's own enquire_link is answered by the gateway.
    const el = await pkg.links[0]!.request('enquire_link');
    expect(el.command).toBe('enquire_link_resp');
    await waitFor(() => pkg.enquireLinks >= 2, 2500, "the gateway's enquire_link on both binds");
    expect(g.gw.pool.boundCount).toBe(2);

    // A hung SMSC: enquire_link unanswered → the gateway drops the link and binds again.
    pkg.answerEnquireLink = false;
    await waitFor(() => pkg.links.length >= 4, 4000, 'the gateway to rebind both links');
    pkg.answerEnquireLink = true;
    await waitFor(() => g.gw.pool.boundCount === 2, 2000, 'links bound again');
    const esme = await g.esme('transmitter');
    expect((await esme.submit({ source_addr: '10690001', destination_addr: '8613800138000', short_message: 'after rebind' })).status).toBe(0);
  });

  it('keeps the ESME session when the package SMSC answers an error status', async () => {
    await start();
    const esme = await connect('127.0.0.1', g.gw.smppPort);
    cleanups.push(() => esme.close());
    expect(await esme.bind('transmitter')).toBe(0);
    // query_sm is forwarded as is; the package SMSC here answers it with query_sm_resp ESME_RINVCMDID.
    const resp = await esme.request(Command.query_sm, { message_id: 'abc', source_addr_ton: 0, source_addr_npi: 0, source_addr: '10690001' });
    expect(resp.readUInt32BE(8)).toBe(Status.ESME_RINVCMDID);
    expect((await esme.submit({ source_addr: '10690001', destination_addr: '8613800138000', short_message: 'ok' })).status).toBe(0);
  });
});
