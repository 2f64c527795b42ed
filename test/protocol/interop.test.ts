/**
 * Codec-level interop with the `smpp` npm package (the Node SMPP library most ESMEs in the field use):
 * what it encodes we decode to the same values, and what we encode it parses to the same values.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import smpp from 'smpp';
import { decode, num, str, type DecodedPdu } from '../../src/protocol/decode.js';
import { encodeEmpty, encodePdu, genericNack, messageResp } from '../../src/protocol/encode.js';
import { Command } from '../../src/protocol/commands.js';
import { MessageView, isScanError } from '../../src/protocol/message-view.js';
import { receiptMessageId } from '../../src/protocol/receipt.js';
import { Status } from '../../src/protocol/status.js';
import { DLT_PE_ID, DLT_TEMPLATE_ID, Tag } from '../../src/protocol/tlv.js';
import { SUBMIT_SM } from './fixtures.js';

beforeAll(() => {
  // The India DLT vendor TLVs, declared to smpp the way ESMEs that send them do.
  smpp.addTLV('pe_id', { id: DLT_PE_ID, type: smpp.types.tlv.string });
  smpp.addTLV('template_id', { id: DLT_TEMPLATE_ID, type: smpp.types.tlv.string });
});

function ours(buf: Buffer): DecodedPdu {
  const r = decode(buf);
  if (!r.ok) throw new Error(`decode failed: ${r.field} ${r.reason}`);
  return r.pdu;
}

function view(buf: Buffer): MessageView {
  const v = MessageView.parse(buf);
  if (isScanError(v)) throw new Error(`scan failed: ${v.field} ${v.reason}`);
  return v;
}

function theirs(buf: Buffer) {
  const p = smpp.PDU.fromBuffer(buf);
  if (!p) throw new Error('smpp could not parse');
  return p;
}

describe('smpp → smppguard', () => {
  it('submit_sm: same bytes as our fixture, same field values', () => {
    const buf = new smpp.PDU('submit_sm', {
      sequence_number: 7,
      source_addr: '106900',
      destination_addr: '8613800138000',
      short_message: Buffer.from('hello world'),
      registered_delivery: 1,
      data_coding: 0,
    }).toBuffer();
    expect(buf.toString('hex')).toBe(SUBMIT_SM.toString('hex'));
  });

  it('submit_sm with every mandatory field set and TLVs (standard and vendor)', () => {
    const buf = new smpp.PDU('submit_sm', {
      sequence_number: 0x01020304,
      service_type: 'CMT',
      source_addr_ton: 5,
      source_addr_npi: 0,
      source_addr: 'BRANDX',
      dest_addr_ton: 1,
      dest_addr_npi: 1,
      destination_addr: '919876543210',
      esm_class: 0x40,
      protocol_id: 0x7f,
      priority_flag: 2,
      schedule_delivery_time: '',
      validity_period: '',
      registered_delivery: 0x11,
      replace_if_present_flag: 1,
      data_coding: 8,
      sm_default_msg_id: 3,
      short_message: Buffer.from('0500032a0201004e2d6587', 'hex'),
      user_message_reference: 0x1234,
      pe_id: '1101456789012345678',
      template_id: '1107000000000000001',
    }).toBuffer();
    const d = ours(buf);
    expect(d).toMatchObject({ length: buf.length, commandId: Command.submit_sm, status: 0, sequence: 0x01020304 });
    const f = d.fields;
    expect({
      service_type: str(f['service_type']),
      source_addr_ton: num(f['source_addr_ton']),
      source_addr_npi: num(f['source_addr_npi']),
      source_addr: str(f['source_addr']),
      dest_addr_ton: num(f['dest_addr_ton']),
      dest_addr_npi: num(f['dest_addr_npi']),
      destination_addr: str(f['destination_addr']),
      esm_class: num(f['esm_class']),
      protocol_id: num(f['protocol_id']),
      priority_flag: num(f['priority_flag']),
      schedule_delivery_time: str(f['schedule_delivery_time']),
      validity_period: str(f['validity_period']),
      registered_delivery: num(f['registered_delivery']),
      replace_if_present_flag: num(f['replace_if_present_flag']),
      data_coding: num(f['data_coding']),
      sm_default_msg_id: num(f['sm_default_msg_id']),
      sm_length: num(f['sm_length']),
      short_message: (f['short_message'] as Buffer).toString('hex'),
    }).toEqual({
      service_type: 'CMT',
      source_addr_ton: 5,
      source_addr_npi: 0,
      source_addr: 'BRANDX',
      dest_addr_ton: 1,
      dest_addr_npi: 1,
      destination_addr: '919876543210',
      esm_class: 0x40,
      protocol_id: 0x7f,
      priority_flag: 2,
      schedule_delivery_time: '',
      validity_period: '',
      registered_delivery: 0x11,
      replace_if_present_flag: 1,
      data_coding: 8,
      sm_default_msg_id: 3,
      sm_length: 11,
      short_message: '0500032a0201004e2d6587',
    });
    const tlvs = Object.fromEntries(d.tlvs.map((t) => [t.tag, t.value.toString('hex')]));
    expect(tlvs).toEqual({
      [Tag.user_message_reference]: '1234',
      [DLT_PE_ID]: Buffer.from('1101456789012345678').toString('hex'),
      [DLT_TEMPLATE_ID]: Buffer.from('1107000000000000001').toString('hex'),
    });
    const v = view(buf);
    expect([v.sourceAddr, v.destinationAddr, v.esmClass, v.dataCoding, v.wantsReceipt]).toEqual([
      'BRANDX', '919876543210', 0x40, 8, true,
    ]);
    expect(v.tlv(DLT_PE_ID)!.toString()).toBe('1101456789012345678');
    expect(v.tlv(DLT_TEMPLATE_ID)!.toString()).toBe('1107000000000000001');
  });

  it('submit_sm with message_payload: payload wins', () => {
    const text = 'x'.repeat(400);
    const buf = new smpp.PDU('submit_sm', {
      sequence_number: 2,
      source_addr: '1',
      destination_addr: '2',
      data_coding: 0,
      message_payload: Buffer.from(text),
    }).toBuffer();
    const v = view(buf);
    expect(v.shortMessage.length).toBe(0);
    expect(v.payload.toString()).toBe(text);
  });

  it('deliver_sm receipt: receipted_message_id and message_state read the same', () => {
    const text = 'id:0A1B sub:001 dlvrd:001 submit date:2401011200 done date:2401011201 stat:DELIVRD err:000 text:';
    const buf = new smpp.PDU('deliver_sm', {
      sequence_number: 9,
      source_addr: '8613800138000',
      destination_addr: '106900',
      esm_class: 0x04,
      data_coding: 0,
      short_message: Buffer.from(text),
      receipted_message_id: '0A1B',
      message_state: 2,
    }).toBuffer();
    const v = view(buf);
    expect(v.commandId).toBe(Command.deliver_sm);
    expect(v.sequence).toBe(9);
    expect(v.isReceipt).toBe(true);
    expect(v.sourceAddr).toBe('8613800138000');
    expect(v.shortMessage.toString()).toBe(text);
    // smpp writes receipted_message_id as a C-string TLV, NUL included.
    expect(v.tlv(Tag.receipted_message_id)!.toString('hex')).toBe('3041314200');
    expect(v.tlv(Tag.message_state)![0]).toBe(2);
    expect(receiptMessageId(v.tlvs, v.payload)).toBe('0A1B');
  });

  it('bind_transceiver reads the same', () => {
    const buf = new smpp.PDU('bind_transceiver', {
      sequence_number: 1,
      system_id: 'esme1',
      password: 'secret',
      system_type: 'VMA',
      interface_version: 0x34,
      addr_ton: 1,
      addr_npi: 1,
      address_range: '^10.*',
    }).toBuffer();
    const d = ours(buf);
    expect(d.commandId).toBe(Command.bind_transceiver);
    expect(Object.fromEntries(Object.entries(d.fields).map(([k, v]) => [k, typeof v === 'number' ? v : str(v)]))).toEqual({
      system_id: 'esme1',
      password: 'secret',
      system_type: 'VMA',
      interface_version: 0x34,
      addr_ton: 1,
      addr_npi: 1,
      address_range: '^10.*',
    });
  });

  it('error responses and header-only PDUs read the same', () => {
    const resp = ours(new smpp.PDU('submit_sm_resp', { sequence_number: 3, command_status: Status.ESME_RTHROTTLED }).toBuffer());
    expect(resp).toEqual({ length: 16, commandId: Command.submit_sm_resp, status: 0x58, sequence: 3, fields: {}, tlvs: [] });
    const ok = ours(new smpp.PDU('submit_sm_resp', { sequence_number: 4, message_id: 'M-1' }).toBuffer());
    expect(str(ok.fields['message_id'])).toBe('M-1');
    const el = ours(new smpp.PDU('enquire_link', { sequence_number: 5 }).toBuffer());
    expect(el).toEqual({ length: 16, commandId: Command.enquire_link, status: 0, sequence: 5, fields: {}, tlvs: [] });
  });
});

describe('smppguard → smpp', () => {
  it('submit_sm with vendor TLVs', () => {
    const buf = encodePdu(
      Command.submit_sm,
      0,
      0x7ffffffe,
      {
        service_type: 'WAP',
        source_addr_ton: 5,
        source_addr: 'BRANDX',
        dest_addr_ton: 1,
        dest_addr_npi: 1,
        destination_addr: '8613800138000',
        esm_class: 0x40,
        priority_flag: 1,
        registered_delivery: 1,
        data_coding: 4,
        short_message: Buffer.from([0x05, 0x00, 0x03, 0x01, 0x02, 0x01, 0xde, 0xad]),
      },
      [
        { tag: Tag.sar_msg_ref_num, value: Buffer.from([0x00, 0x07]) },
        { tag: DLT_PE_ID, value: Buffer.from('PE123') },
        { tag: DLT_TEMPLATE_ID, value: Buffer.from('TPL9') },
      ],
    );
    const p = theirs(buf);
    expect({
      command: p.command,
      command_length: p.command_length,
      command_status: p.command_status,
      sequence_number: p.sequence_number,
      service_type: p['service_type'],
      source_addr_ton: p['source_addr_ton'],
      source_addr_npi: p['source_addr_npi'],
      source_addr: p['source_addr'],
      dest_addr_ton: p['dest_addr_ton'],
      dest_addr_npi: p['dest_addr_npi'],
      destination_addr: p['destination_addr'],
      esm_class: p['esm_class'],
      protocol_id: p['protocol_id'],
      priority_flag: p['priority_flag'],
      registered_delivery: p['registered_delivery'],
      data_coding: p['data_coding'],
      sar_msg_ref_num: p['sar_msg_ref_num'],
      pe_id: p['pe_id'],
      template_id: p['template_id'],
    }).toEqual({
      command: 'submit_sm',
      command_length: buf.length,
      command_status: 0,
      sequence_number: 0x7ffffffe,
      service_type: 'WAP',
      source_addr_ton: 5,
      source_addr_npi: 0,
      source_addr: 'BRANDX',
      dest_addr_ton: 1,
      dest_addr_npi: 1,
      destination_addr: '8613800138000',
      esm_class: 0x40,
      protocol_id: 0,
      priority_flag: 1,
      registered_delivery: 1,
      data_coding: 4,
      sar_msg_ref_num: 7,
      pe_id: 'PE123',
      template_id: 'TPL9',
    });
    // smpp splits off the UDH (esm_class 0x40) and hands back the rest.
    const sm = p['short_message'] as { udh?: Buffer[]; message: Buffer | string };
    expect(sm.udh?.map((u) => u.toString('hex'))).toEqual(['0003010201']);
    expect(Buffer.from(sm.message as Buffer).toString('hex')).toBe('dead');
  });

  it('deliver_sm receipt', () => {
    const buf = encodePdu(
      Command.deliver_sm,
      0,
      11,
      { source_addr: '8613800138000', destination_addr: '106900', esm_class: 0x04, short_message: 'id:7 stat:DELIVRD' },
      [
        { tag: Tag.receipted_message_id, value: Buffer.from('7\u0000') },
        { tag: Tag.message_state, value: Buffer.from([2]) },
      ],
    );
    const p = theirs(buf);
    expect(p.command).toBe('deliver_sm');
    expect(p.sequence_number).toBe(11);
    expect(p['esm_class']).toBe(4);
    expect(p['receipted_message_id']).toBe('7');
    expect(p['message_state']).toBe(2);
    expect((p['short_message'] as { message: string }).message).toBe('id:7 stat:DELIVRD');
  });

  it('bind_transceiver and its response', () => {
    const bind = theirs(
      encodePdu(Command.bind_transceiver, 0, 1, {
        system_id: 'esme1',
        password: 'secret',
        system_type: 'VMA',
        interface_version: 0x34,
        addr_ton: 1,
        addr_npi: 1,
        address_range: '10',
      }),
    );
    expect({
      command: bind.command,
      system_id: bind['system_id'],
      password: bind['password'],
      system_type: bind['system_type'],
      interface_version: bind['interface_version'],
      addr_ton: bind['addr_ton'],
      addr_npi: bind['addr_npi'],
      address_range: bind['address_range'],
    }).toEqual({
      command: 'bind_transceiver',
      system_id: 'esme1',
      password: 'secret',
      system_type: 'VMA',
      interface_version: 0x34,
      addr_ton: 1,
      addr_npi: 1,
      address_range: '10',
    });
    const resp = theirs(
      encodePdu(Command.bind_transceiver_resp, 0, 1, { system_id: 'smppguard' }, [
        { tag: Tag.sc_interface_version, value: Buffer.from([0x34]) },
      ]),
    );
    expect([resp.command, resp['system_id'], resp['sc_interface_version']]).toEqual([
      'bind_transceiver_resp',
      'smppguard',
      0x34,
    ]);
  });

  it('responses, generic_nack and enquire_link', () => {
    const ok = theirs(messageResp(Command.submit_sm_resp, 0, 21, 'abc123'));
    expect([ok.command, ok.command_status, ok.sequence_number, ok['message_id']]).toEqual(['submit_sm_resp', 0, 21, 'abc123']);
    const err = theirs(messageResp(Command.submit_sm_resp, Status.ESME_RINVSRCADR, 22));
    expect([err.command, err.command_status, err.sequence_number, err.command_length]).toEqual(['submit_sm_resp', 0x0a, 22, 16]);
    const nack = theirs(genericNack(Status.ESME_RINVCMDLEN, 23));
    expect([nack.command, nack.command_status, nack.sequence_number]).toEqual(['generic_nack', 2, 23]);
    const el = theirs(encodeEmpty(Command.enquire_link, 0, 24));
    expect([el.command, el.sequence_number]).toEqual(['enquire_link', 24]);
  });
});
