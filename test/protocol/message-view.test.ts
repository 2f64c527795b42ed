import { describe, expect, it } from 'vitest';
import { ESM_CLASS, MessageView, isScanError } from '../../src/protocol/message-view.js';
import { Command } from '../../src/protocol/commands.js';
import { encodePdu } from '../../src/protocol/encode.js';
import { Status } from '../../src/protocol/status.js';
import { DLT_PE_ID, DLT_TEMPLATE_ID, Tag } from '../../src/protocol/tlv.js';
import type { ScanError } from '../../src/protocol/scan.js';
import { DATA_SM, DELIVER_SM_RECEIPT, SUBMIT_SM, SUBMIT_SM_DLT, pduHex } from './fixtures.js';

function view(pdu: Buffer): MessageView {
  const v = MessageView.parse(pdu);
  if (isScanError(v)) throw new Error(`scan error ${v.field}: ${v.reason}`);
  return v;
}

function getters(v: MessageView) {
  return {
    commandId: v.commandId,
    sequence: v.sequence,
    serviceType: v.serviceType,
    sourceTon: v.sourceTon,
    sourceNpi: v.sourceNpi,
    sourceAddr: v.sourceAddr,
    destTon: v.destTon,
    destNpi: v.destNpi,
    destinationAddr: v.destinationAddr,
    esmClass: v.esmClass,
    registeredDelivery: v.registeredDelivery,
    dataCoding: v.dataCoding,
    validityPeriod: v.validityPeriod,
    scheduleDeliveryTime: v.scheduleDeliveryTime,
    shortMessage: v.shortMessage.toString('hex'),
    payload: v.payload.toString('hex'),
    tlvs: v.tlvs.map((t) => [t.tag, t.value.toString('hex')]),
    isReceipt: v.isReceipt,
    wantsReceipt: v.wantsReceipt,
  };
}

describe('MessageView on submit_sm', () => {
  it('reads every field of the plain submit_sm fixture', () => {
    expect(getters(view(SUBMIT_SM))).toEqual({
      commandId: Command.submit_sm,
      sequence: 7,
      serviceType: '',
      sourceTon: 0,
      sourceNpi: 0,
      sourceAddr: '106900',
      destTon: 0,
      destNpi: 0,
      destinationAddr: '8613800138000',
      esmClass: 0,
      registeredDelivery: 1,
      dataCoding: 0,
      validityPeriod: '',
      scheduleDeliveryTime: '',
      shortMessage: Buffer.from('hello world').toString('hex'),
      payload: Buffer.from('hello world').toString('hex'),
      tlvs: [],
      isReceipt: false,
      wantsReceipt: true,
    });
  });

  it('reads every field of the DLT submit_sm fixture, vendor TLVs included', () => {
    const v = view(SUBMIT_SM_DLT);
    expect(getters(v)).toEqual({
      commandId: Command.submit_sm,
      sequence: 0x102,
      serviceType: 'CMT',
      sourceTon: 5,
      sourceNpi: 0,
      sourceAddr: 'BRND',
      destTon: 1,
      destNpi: 1,
      destinationAddr: '919876543210',
      esmClass: 0x40,
      registeredDelivery: 0x11,
      dataCoding: 8,
      validityPeriod: '000001000000000R',
      scheduleDeliveryTime: '',
      shortMessage: '0500032a020100480069',
      payload: '0500032a020100480069',
      tlvs: [
        [0x1400, '31313031'],
        [0x1401, '31313037'],
        [0x3fff, '78'],
      ],
      isReceipt: false,
      wantsReceipt: true,
    });
    expect(v.tlv(DLT_PE_ID)!.toString()).toBe('1101');
    expect(v.tlv(DLT_TEMPLATE_ID)!.toString()).toBe('1107');
    expect(v.tlv(0x3fff)!.toString()).toBe('x');
    expect(v.tlv(Tag.message_payload)).toBeUndefined();
  });

  it('reads a schedule_delivery_time', () => {
    const pdu = encodePdu(Command.submit_sm, 0, 1, { schedule_delivery_time: '240101120000004+' });
    expect(view(pdu).scheduleDeliveryTime).toBe('240101120000004+');
  });

  it('reads C-strings as latin1, byte for byte', () => {
    const pdu = encodePdu(Command.submit_sm, 0, 1, { source_addr: Buffer.from([0x41, 0xe9, 0xff]) });
    expect(view(pdu).sourceAddr).toBe('A\u00e9\u00ff');
  });

  it('prefers message_payload over short_message', () => {
    const pdu = encodePdu(Command.submit_sm, 0, 1, { short_message: 'short' }, [
      { tag: Tag.message_payload, value: Buffer.from('the long payload') },
    ]);
    const v = view(pdu);
    expect(v.shortMessage.toString()).toBe('short');
    expect(v.payload.toString()).toBe('the long payload');
  });

  it('uses an empty message_payload when one is present (it still wins)', () => {
    const pdu = encodePdu(Command.submit_sm, 0, 1, { short_message: 'short' }, [
      { tag: Tag.message_payload, value: Buffer.alloc(0) },
    ]);
    expect(view(pdu).payload.length).toBe(0);
  });

  it('shares memory with the PDU (no copy)', () => {
    const pdu = Buffer.from(SUBMIT_SM_DLT);
    const v = view(pdu);
    expect(v.pdu).toBe(pdu);
    const sm = v.shortMessage;
    expect(sm.buffer).toBe(pdu.buffer);
    expect(sm.byteOffset).toBe(pdu.byteOffset + 68);
    const pe = v.tlv(DLT_PE_ID)!;
    expect(pe.buffer).toBe(pdu.buffer);
    expect(pe.byteOffset).toBe(pdu.byteOffset + 82);
    // Writing through the PDU shows through the views and the getters.
    pdu[68] = 0x06;
    expect(sm[0]).toBe(0x06);
    pdu[82] = 0x39;
    expect(v.tlv(DLT_PE_ID)!.toString()).toBe('9101');
    pdu[22] = 0x58; // 'B' of "BRND" → 'X'
    expect(v.sourceAddr).toBe('XRND');
  });

  it('works on a frame that is a view into a larger chunk', () => {
    const chunk = Buffer.concat([Buffer.from('garbage!'), SUBMIT_SM, Buffer.from('trailing')]);
    const frame = chunk.subarray(8, 8 + SUBMIT_SM.length);
    const v = view(frame);
    expect(v.sourceAddr).toBe('106900');
    expect(v.shortMessage.toString()).toBe('hello world');
    expect(v.shortMessage.buffer).toBe(chunk.buffer);
    expect(v.tlvs).toEqual([]);
  });

  it('caches the TLV list', () => {
    const v = view(SUBMIT_SM_DLT);
    expect(v.tlvs).toBe(v.tlvs);
  });

  it('returns the scan error for a malformed submit_sm', () => {
    const bad = pduHex(`
      00000032 00000004 00000000 00000002
      00 00 00 313036393030 00
      01 01 383631333830303133383030303132333435363738 00   # destination_addr of 21 octets
    `);
    const r = MessageView.parse(bad);
    expect(isScanError(r)).toBe(true);
    expect(r as ScanError).toEqual({ status: Status.ESME_RINVDSTADR, field: 'destination_addr', reason: 'longer than 20 octets' });
    const truncated = MessageView.parse(SUBMIT_SM.subarray(0, 50)) as ScanError;
    expect(truncated.status).toBe(Status.ESME_RINVCMDLEN);
    expect(truncated.field).toBe('sm_default_msg_id');
  });
});

describe('MessageView on deliver_sm', () => {
  it('reads every field of the receipt fixture', () => {
    const text =
      'id:ABC sub:001 dlvrd:001 submit date:2401011200 done date:2401011201 stat:DELIVRD err:000 text:Hello';
    expect(getters(view(DELIVER_SM_RECEIPT))).toEqual({
      commandId: Command.deliver_sm,
      sequence: 9,
      serviceType: '',
      sourceTon: 1,
      sourceNpi: 1,
      sourceAddr: '8613800138000',
      destTon: 0,
      destNpi: 0,
      destinationAddr: '106900',
      esmClass: 0x04,
      registeredDelivery: 0,
      dataCoding: 0,
      validityPeriod: '',
      scheduleDeliveryTime: '',
      shortMessage: Buffer.from(text).toString('hex'),
      payload: Buffer.from(text).toString('hex'),
      tlvs: [
        [0x001e, '61626300'],
        [0x0427, '02'],
      ],
      isReceipt: true,
      wantsReceipt: false,
    });
  });

  it('reads an MO deliver_sm as not a receipt', () => {
    const mo = encodePdu(Command.deliver_sm, 0, 3, {
      source_addr: '8613800138000',
      destination_addr: '106900',
      esm_class: 0,
      short_message: 'TD',
    });
    const v = view(mo);
    expect(v.isReceipt).toBe(false);
    expect(v.payload.toString()).toBe('TD');
  });

  it('classifies esm_class message types', () => {
    const cases: [number, boolean][] = [
      [0x00, false], // default message type
      [0x03, false], // messaging mode bits only
      [0x04, true], // SMSC delivery receipt
      [0x08, true], // SME delivery acknowledgement
      [0x10, true], // SME manual/user acknowledgement
      [0x18, false], // conversation abort (Korean CDMA)
      [0x20, true], // intermediate delivery notification (5.0)
      [0x40, false], // UDHI only
      [0x44, true], // UDHI + receipt
      [0x84, true], // reply path + receipt
      [0x0c, false], // unassigned combination
    ];
    for (const [esm, receipt] of cases) {
      const v = view(encodePdu(Command.deliver_sm, 0, 1, { esm_class: esm }));
      expect(v.isReceipt, `esm_class 0x${esm.toString(16)}`).toBe(receipt);
    }
    expect(ESM_CLASS).toEqual({ UDHI: 0x40, TYPE_MASK: 0x3c, DELIVERY_RECEIPT: 0x04, INTERMEDIATE_NOTIFICATION: 0x20 });
  });

  it('reads registered_delivery receipt requests (bits 0–1)', () => {
    const cases: [number, boolean][] = [
      [0x00, false],
      [0x01, true], // receipt on success or failure
      [0x02, true], // receipt on failure
      [0x03, true], // 5.0: receipt on success
      [0x04, false], // SME delivery ack only
      [0x08, false], // SME manual ack only
      [0x10, false], // intermediate notification only
      [0x11, true],
      [0xfc, false],
    ];
    for (const [rd, wants] of cases) {
      const v = view(encodePdu(Command.submit_sm, 0, 1, { registered_delivery: rd }));
      expect(v.wantsReceipt, `registered_delivery 0x${rd.toString(16)}`).toBe(wants);
    }
  });
});

describe('MessageView on data_sm', () => {
  it('reads every field of the data_sm fixture; absent fields read empty', () => {
    expect(getters(view(DATA_SM))).toEqual({
      commandId: Command.data_sm,
      sequence: 0x7fffffff,
      serviceType: '',
      sourceTon: 0,
      sourceNpi: 1,
      sourceAddr: '10690',
      destTon: 1,
      destNpi: 1,
      destinationAddr: '8613900139000',
      esmClass: 0,
      registeredDelivery: 1,
      dataCoding: 0,
      validityPeriod: '',
      scheduleDeliveryTime: '',
      shortMessage: '',
      payload: Buffer.from('payload text').toString('hex'),
      tlvs: [
        [0x0424, Buffer.from('payload text').toString('hex')],
        [0x020a, '1f90'],
      ],
      isReceipt: false,
      wantsReceipt: true,
    });
  });

  it('reads an empty payload when data_sm has no message_payload', () => {
    const v = view(encodePdu(Command.data_sm, 0, 1, { source_addr: 'A', destination_addr: 'B' }));
    expect(v.payload.length).toBe(0);
    expect(v.shortMessage.length).toBe(0);
    expect(v.tlvs).toEqual([]);
  });

  it('reads data_sm vendor TLVs and long addresses (up to 64 octets)', () => {
    const src = '1'.repeat(64);
    const v = view(
      encodePdu(Command.data_sm, 0, 1, { source_addr: src, esm_class: 0x04 }, [
        { tag: DLT_PE_ID, value: Buffer.from('PE') },
        { tag: DLT_TEMPLATE_ID, value: Buffer.from('TPL') },
      ]),
    );
    expect(v.sourceAddr).toBe(src);
    expect(v.isReceipt).toBe(true);
    expect(v.tlv(DLT_PE_ID)!.toString()).toBe('PE');
    expect(v.tlv(DLT_TEMPLATE_ID)!.toString()).toBe('TPL');
  });

  it('returns the scan error for a data_sm source_addr over 64 octets', () => {
    const bad = pduHex(`00000055 00000103 00000000 00000004  00 00 00 ${'31'.repeat(65)} 00`);
    expect(MessageView.parse(bad)).toEqual({ status: Status.ESME_RINVSRCADR, field: 'source_addr', reason: 'longer than 64 octets' });
  });
});
