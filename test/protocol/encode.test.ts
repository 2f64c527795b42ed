import { describe, expect, it } from 'vitest';
import {
  INTERFACE_VERSION_34,
  INTERFACE_VERSION_50,
  encodeEmpty,
  encodePdu,
  genericNack,
  messageResp,
} from '../../src/protocol/encode.js';
import { Command } from '../../src/protocol/commands.js';
import { Status } from '../../src/protocol/status.js';
import { decode } from '../../src/protocol/decode.js';
import { Tag } from '../../src/protocol/tlv.js';
import { SUBMIT_SM, hex } from './fixtures.js';

describe('messageResp', () => {
  it('omits the body when the status is an error', () => {
    expect(messageResp(Command.submit_sm_resp, Status.ESME_RSUBMITFAIL, 9).toString('hex')).toBe(
      hex('00000010 80000004 00000045 00000009').toString('hex'),
    );
    expect(messageResp(Command.submit_sm_resp, Status.ESME_RINVSRCADR, 9, 'ignored').toString('hex')).toBe(
      hex('00000010 80000004 0000000a 00000009').toString('hex'),
    );
    expect(messageResp(Command.deliver_sm_resp, Status.ESME_RX_T_APPN, 0x7fffffff).toString('hex')).toBe(
      hex('00000010 80000005 00000064 7fffffff').toString('hex'),
    );
    expect(messageResp(Command.data_sm_resp, 0x401, 1).toString('hex')).toBe(
      hex('00000010 80000103 00000401 00000001').toString('hex'),
    );
  });

  it('carries the message_id on success', () => {
    expect(messageResp(Command.submit_sm_resp, 0, 9, 'abc').toString('hex')).toBe(
      hex('00000014 80000004 00000000 00000009  61626300').toString('hex'),
    );
    expect(messageResp(Command.deliver_sm_resp, 0, 10).toString('hex')).toBe(
      hex('00000011 80000005 00000000 0000000a  00').toString('hex'),
    );
  });
});

describe('encodePdu', () => {
  it('builds a bind_transceiver byte for byte', () => {
    const pdu = encodePdu(Command.bind_transceiver, 0, 1, {
      system_id: 'esme1',
      password: 'secret',
      system_type: 'VMA',
      interface_version: INTERFACE_VERSION_34,
      addr_ton: 1,
      addr_npi: 1,
      address_range: '10',
    });
    expect(pdu.toString('hex')).toBe(
      hex(`
        00000027 00000009 00000000 00000001
        65736d653100 73656372657400 564d4100 34 01 01 313000
      `).toString('hex'),
    );
    expect(INTERFACE_VERSION_50).toBe(0x50);
  });

  it('builds the submit_sm fixture byte for byte, sm_length filled in', () => {
    const pdu = encodePdu(Command.submit_sm, 0, 7, {
      source_addr: '106900',
      destination_addr: '8613800138000',
      registered_delivery: 1,
      short_message: Buffer.from('hello world'),
    });
    expect(pdu.toString('hex')).toBe(SUBMIT_SM.toString('hex'));
  });

  it('fills in sm_length from short_message, strings and buffers alike', () => {
    for (const [sm, len] of [
      ['', 0],
      ['x', 1],
      ['a'.repeat(160), 160],
      [Buffer.alloc(255, 1), 255],
    ] as const) {
      const pdu = encodePdu(Command.submit_sm, 0, 1, { short_message: sm });
      // Empty submit_sm: sm_length is the octet at 16 + 16.
      expect(pdu[32], `length ${len}`).toBe(len);
      expect(pdu.length).toBe(16 + 17 + len);
      const d = decode(pdu);
      expect(d.ok && d.pdu.fields['sm_length']).toBe(len);
    }
    const replace = encodePdu(Command.replace_sm, 0, 1, { message_id: '1', short_message: 'hey' });
    const d = decode(replace);
    expect(d.ok && d.pdu.fields['sm_length']).toBe(3);
  });

  it('keeps an sm_length the caller set', () => {
    const pdu = encodePdu(Command.submit_sm, 0, 1, { sm_length: 2, short_message: 'hello' });
    expect(pdu[32]).toBe(2);
    expect(pdu.length).toBe(16 + 17 + 5);
  });

  it('throws when short_message is over 255 octets and sm_length was not given', () => {
    expect(() => encodePdu(Command.submit_sm, 0, 1, { short_message: Buffer.alloc(256) })).toThrow(
      new RangeError('short_message over 255 octets: use message_payload'),
    );
  });

  it('throws on C-strings over their maximum, accepts them at it', () => {
    const over: [number, string, number][] = [
      [Command.submit_sm, 'source_addr', 21],
      [Command.submit_sm, 'destination_addr', 21],
      [Command.submit_sm, 'service_type', 6],
      [Command.submit_sm, 'validity_period', 17],
      [Command.data_sm, 'source_addr', 65],
      [Command.bind_transceiver, 'system_id', 16],
      [Command.bind_transceiver, 'password', 9],
      [Command.bind_transceiver, 'system_type', 13],
      [Command.bind_transceiver, 'address_range', 41],
      [Command.submit_sm_resp, 'message_id', 65],
    ];
    for (const [id, field, max] of over) {
      expect(() => encodePdu(id, 0, 1, { [field]: 'x'.repeat(max) }), field).toThrow(
        new RangeError(`${field} is longer than ${max - 1} octets`),
      );
      expect(() => encodePdu(id, 0, 1, { [field]: Buffer.alloc(max, 0x31) }), field).toThrow(RangeError);
      expect(encodePdu(id, 0, 1, { [field]: 'x'.repeat(max - 1) }).length).toBeGreaterThan(16 + max - 1);
    }
  });

  it('throws on a C-string containing a NUL octet (it would shift every later field)', () => {
    expect(() => encodePdu(Command.submit_sm_resp, 0, 1, { message_id: 'ab\u0000cd' })).toThrow(
      new RangeError('message_id contains a NUL octet'),
    );
    expect(() => encodePdu(Command.bind_transceiver, 0, 1, { system_id: Buffer.from([0x41, 0x00]) })).toThrow(RangeError);
  });

  it('throws for a command without a layout', () => {
    expect(() => encodePdu(Command.submit_multi, 0, 1)).toThrow(new RangeError('no layout for submit_multi'));
    expect(() => encodePdu(0x99, 0, 1)).toThrow(new RangeError('no layout for unknown_0x00000099'));
  });

  it('writes defaults for absent fields and numbers into C-strings as text', () => {
    const pdu = encodePdu(Command.submit_sm_resp, 0, 1, { message_id: 12345 });
    expect(pdu.subarray(16).toString('hex')).toBe('313233343500');
    const empty = encodePdu(Command.query_sm_resp, 0, 2);
    expect(empty.toString('hex')).toBe(hex('00000014 80000003 00000000 00000002 00 00 00 00').toString('hex'));
  });

  it('appends TLVs in the order given, byte-exact', () => {
    const pdu = encodePdu(Command.submit_sm_resp, 0, 3, { message_id: 'a' }, [
      { tag: 0x1401, value: Buffer.from('T') },
      { tag: 0x1400, value: Buffer.from('PE') },
      { tag: Tag.additional_status_info_text, value: Buffer.alloc(0) },
    ]);
    expect(pdu.toString('hex')).toBe(
      hex('00000021 80000004 00000000 00000003  6100  1401 0001 54  1400 0002 5045  001d 0000').toString('hex'),
    );
  });

  it('writes a header-only response for an error status with no fields', () => {
    expect(encodePdu(Command.bind_transceiver_resp, Status.ESME_RBINDFAIL, 4).toString('hex')).toBe(
      hex('00000010 80000009 0000000d 00000004').toString('hex'),
    );
    // With fields, the body is written even on error.
    expect(encodePdu(Command.bind_transceiver_resp, Status.ESME_RBINDFAIL, 4, { system_id: 'GW' }).toString('hex')).toBe(
      hex('00000013 80000009 0000000d 00000004 475700').toString('hex'),
    );
    // Requests always carry their body, whatever the status.
    expect(encodePdu(Command.outbind, 1, 4).length).toBe(18);
  });

  it('writes header values as unsigned 32-bit', () => {
    const pdu = encodePdu(Command.generic_nack, -1, -1);
    expect(pdu.toString('hex')).toBe(hex('00000010 80000000 ffffffff ffffffff').toString('hex'));
  });
});

describe('encodeEmpty / genericNack', () => {
  it('builds header-only PDUs', () => {
    expect(encodeEmpty(Command.enquire_link, 0, 1).toString('hex')).toBe('000000100000001500000000' + '00000001');
    expect(encodeEmpty(Command.unbind_resp, 0, 0x7fffffff).toString('hex')).toBe('000000108000000600000000' + '7fffffff');
    expect(genericNack(Status.ESME_RINVCMDLEN, 0).toString('hex')).toBe(
      hex('00000010 80000000 00000002 00000000').toString('hex'),
    );
    expect(genericNack(Status.ESME_RINVCMDID, 42).toString('hex')).toBe(
      hex('00000010 80000000 00000003 0000002a').toString('hex'),
    );
  });
});
