import { describe, expect, it } from 'vitest';
import {
  BIND_COMMAND,
  BIND_KIND,
  Command,
  RESPONSE_BIT,
  commandName,
  isKnownCommand,
  isResponse,
  responseIdOf,
} from '../../src/protocol/commands.js';
import { Status, TEMPORARY_STATUSES, statusName } from '../../src/protocol/status.js';
import { DLT_PE_ID, DLT_TEMPLATE_ID, Tag, encodeTlvs, findTlv, isVendorTag, readTlvs } from '../../src/protocol/tlv.js';
import { hex } from './fixtures.js';

describe('commands', () => {
  it('names known and unknown ids', () => {
    expect(commandName(0x00000004)).toBe('submit_sm');
    expect(commandName(0x80000004)).toBe('submit_sm_resp');
    expect(commandName(0x80000000)).toBe('generic_nack');
    expect(commandName(0x00000103)).toBe('data_sm');
    expect(commandName(0x99)).toBe('unknown_0x00000099');
    expect(commandName(-1)).toBe('unknown_0xffffffff');
    expect(isKnownCommand(Command.outbind)).toBe(true);
    expect(isKnownCommand(0x8000000b)).toBe(false); // outbind has no response
    expect(isKnownCommand(0)).toBe(false);
  });

  it('pairs every request with its response id', () => {
    for (const [name, id] of Object.entries(Command)) {
      if (name.endsWith('_resp')) {
        expect(isResponse(id), name).toBe(true);
        const req = name.slice(0, -'_resp'.length) as keyof typeof Command;
        expect(responseIdOf(Command[req]), name).toBe(id);
      } else if (name !== 'generic_nack') {
        expect(isResponse(id), name).toBe(false);
      }
    }
    expect(isResponse(Command.generic_nack)).toBe(true);
    expect(responseIdOf(Command.submit_sm)).toBe(0x80000004);
    expect(responseIdOf(0x80000004)).toBe(0x80000004);
    expect(RESPONSE_BIT).toBe(0x80000000);
  });

  it('has the spec ids', () => {
    expect(Command.bind_transceiver).toBe(0x09);
    expect(Command.enquire_link).toBe(0x15);
    expect(Command.submit_multi).toBe(0x21);
    expect(Command.alert_notification).toBe(0x102);
    expect(Command.cancel_broadcast_sm_resp).toBe(0x80000113);
  });

  it('maps bind kinds both ways', () => {
    for (const [kind, id] of Object.entries(BIND_COMMAND)) {
      expect(BIND_KIND[id as keyof typeof BIND_KIND].name).toBe(kind);
    }
    expect(BIND_KIND[Command.bind_transmitter]).toEqual({ name: 'transmitter', canSubmit: true, canReceive: false });
    expect(BIND_KIND[Command.bind_receiver]).toEqual({ name: 'receiver', canSubmit: false, canReceive: true });
    expect(BIND_KIND[Command.bind_transceiver]).toEqual({ name: 'transceiver', canSubmit: true, canReceive: true });
  });
});

describe('statuses', () => {
  it('names statuses', () => {
    expect(statusName(0)).toBe('ESME_ROK');
    expect(statusName(0x0a)).toBe('ESME_RINVSRCADR');
    expect(statusName(0x58)).toBe('ESME_RTHROTTLED');
    expect(statusName(0x103)).toBe('ESME_RSERTYPDENIED');
    expect(statusName(0x400)).toBe('VENDOR_0x400');
    expect(statusName(0x4ff)).toBe('VENDOR_0x4ff');
    expect(statusName(0x500)).toBe('0x500');
    expect(statusName(0x09)).toBe('0x09');
  });

  it('has the codes the firewall returns (docs/compliance.md §10)', () => {
    expect([
      Status.ESME_ROK,
      Status.ESME_RSYSERR,
      Status.ESME_RINVSRCADR,
      Status.ESME_RINVDSTADR,
      Status.ESME_RBINDFAIL,
      Status.ESME_RINVPASWD,
      Status.ESME_RINVSYSID,
      Status.ESME_RMSGQFUL,
      Status.ESME_RSUBMITFAIL,
      Status.ESME_RTHROTTLED,
      Status.ESME_RSERTYPDENIED,
      Status.ESME_RINVOPTPARSTREAM,
    ]).toEqual([0x00, 0x08, 0x0a, 0x0b, 0x0d, 0x0e, 0x0f, 0x14, 0x45, 0x58, 0x103, 0xc0]);
    expect([...TEMPORARY_STATUSES].sort((a, b) => a - b)).toEqual([0x08, 0x14, 0x58, 0x64]);
  });

  it('has no duplicate codes', () => {
    const codes = Object.values(Status);
    expect(new Set(codes).size).toBe(codes.length);
  });
});

describe('TLVs', () => {
  it('recognises the vendor range 0x1400–0x3FFF', () => {
    expect(isVendorTag(0x13ff)).toBe(false);
    expect(isVendorTag(0x1400)).toBe(true);
    expect(isVendorTag(0x3fff)).toBe(true);
    expect(isVendorTag(0x4000)).toBe(false);
    expect(isVendorTag(Tag.message_payload)).toBe(false);
    expect([DLT_PE_ID, DLT_TEMPLATE_ID]).toEqual([0x1400, 0x1401]);
    expect([Tag.receipted_message_id, Tag.message_state, Tag.message_payload, Tag.sar_msg_ref_num]).toEqual([
      0x001e, 0x0427, 0x0424, 0x020c,
    ]);
  });

  it('walks a TLV area as views into the buffer', () => {
    const buf = hex('ffff  1400 0002 4142  0427 0001 02  3fff 0000  eeee');
    const tlvs = readTlvs(buf, 2, buf.length - 2)!;
    expect(tlvs.map((t) => [t.tag, t.value.toString('hex')])).toEqual([
      [0x1400, '4142'],
      [0x0427, '02'],
      [0x3fff, ''],
    ]);
    expect(tlvs[0]!.value.buffer).toBe(buf.buffer);
    expect(tlvs[0]!.value.byteOffset).toBe(buf.byteOffset + 6);
    expect(readTlvs(buf, 5, 5)).toEqual([]);
  });

  it('returns null for a truncated TLV header or value', () => {
    expect(readTlvs(hex('1400 00'), 0, 3)).toBeNull();
    expect(readTlvs(hex('1400 0003 4142'), 0, 6)).toBeNull();
    expect(readTlvs(hex('0427 0001 02 14'), 0, 6)).toBeNull();
    // The end bound is respected even when the buffer goes on.
    expect(readTlvs(hex('1400 0002 4142 00'), 0, 5)).toBeNull();
  });

  it('finds the first TLV with a tag', () => {
    const tlvs = readTlvs(hex('1400 0001 41  1400 0001 42'), 0, 10)!;
    expect(findTlv(tlvs, 0x1400)!.toString()).toBe('A');
    expect(findTlv(tlvs, 0x1401)).toBeUndefined();
  });

  it('encodes TLVs in order, and readTlvs reads them back', () => {
    const tlvs = [
      { tag: 0x0424, value: Buffer.from('hello') },
      { tag: 0x1400, value: Buffer.alloc(0) },
      { tag: 0x020c, value: Buffer.from([0x12, 0x34]) },
    ];
    const out = encodeTlvs(tlvs);
    expect(out.toString('hex')).toBe(hex('0424 0005 68656c6c6f  1400 0000  020c 0002 1234').toString('hex'));
    expect(readTlvs(out, 0, out.length)!.map((t) => [t.tag, t.value.toString('hex')])).toEqual(
      tlvs.map((t) => [t.tag, t.value.toString('hex')]),
    );
    expect(encodeTlvs([]).length).toBe(0);
  });
});
