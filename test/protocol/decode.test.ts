import { describe, expect, it } from 'vitest';
import { decode, num, str, type DecodeResult } from '../../src/protocol/decode.js';
import { encodePdu, type FieldValue } from '../../src/protocol/encode.js';
import { Command, commandName } from '../../src/protocol/commands.js';
import { FIELD_ERROR, LAYOUTS, SM_FIELDS, DATA_SM_FIELDS, type Layout } from '../../src/protocol/layouts.js';
import { layoutOf, offsetsFor, scanBody } from '../../src/protocol/scan.js';
import { Status } from '../../src/protocol/status.js';
import type { Tlv } from '../../src/protocol/tlv.js';
import { DATA_SM, DELIVER_SM_RECEIPT, SUBMIT_SM, SUBMIT_SM_DLT, pduHex } from './fixtures.js';

function failure(r: DecodeResult) {
  if (r.ok) throw new Error('expected a decode error');
  return { status: r.status, field: r.field, reason: r.reason };
}

function success(r: DecodeResult) {
  if (!r.ok) throw new Error(`expected success, got ${r.field}: ${r.reason} (0x${r.status.toString(16)})`);
  return r.pdu;
}

/** Field values exercising each type at its limit: C-strings at their maximum length. */
function fullValues(layout: Layout, seed: number): Record<string, FieldValue> {
  const v: Record<string, FieldValue> = {};
  const lengthFields = new Set(layout.fields.flatMap((f) => (f.type === 'octets' ? [f.lengthOf] : [])));
  layout.fields.forEach((f, i) => {
    if (lengthFields.has(f.name)) return; // filled in by encodePdu
    if (f.type === 'u8') v[f.name] = (seed + i * 37) & 0xff;
    else if (f.type === 'u32') v[f.name] = (seed * 7919 + i) >>> 0;
    else if (f.type === 'cstring') v[f.name] = String.fromCharCode(0x41 + ((seed + i) % 26)).repeat(f.max - 1);
    else v[f.name] = Buffer.from(Array.from({ length: 255 }, (_, k) => (k + seed) & 0xff));
  });
  return v;
}

const TLVS: Tlv[] = [
  { tag: 0x1400, value: Buffer.from('1101456789012345678') },
  { tag: 0x1401, value: Buffer.from('1107000000000000001') },
  { tag: 0x0424, value: Buffer.alloc(300, 0x5a) },
  { tag: 0x020c, value: Buffer.from([0x00, 0x2a]) },
  { tag: 0x3fff, value: Buffer.alloc(0) },
];

describe('decode: encodePdu round trip for every layout', () => {
  for (const [id, layout] of LAYOUTS) {
    const name = commandName(id);
    const cases: [string, Record<string, FieldValue>, Tlv[]][] = [
      ['full-length fields', fullValues(layout, id & 0xff), layout.tlvs ? TLVS : []],
      ['empty fields', {}, []],
    ];
    for (const [label, values, tlvs] of cases) {
      it(`${name} (${label})`, () => {
        const bytes = encodePdu(id, 0, 0x1234, values, tlvs);
        expect(bytes.readUInt32BE(0)).toBe(bytes.length);
        const pdu = success(decode(bytes));
        expect(pdu).toMatchObject({ length: bytes.length, commandId: id, status: 0, sequence: 0x1234 });
        expect(Object.keys(pdu.fields)).toEqual(layout.fields.map((f) => f.name));
        for (const f of layout.fields) {
          const got = pdu.fields[f.name];
          if (f.name === 'sm_length') {
            expect(got, f.name).toBe(((values['short_message'] as Buffer | undefined) ?? Buffer.alloc(0)).length);
          } else if (f.type === 'u8' || f.type === 'u32') {
            expect(got, f.name).toBe(values[f.name] ?? 0);
          } else {
            const v = values[f.name];
            const expected = v === undefined ? Buffer.alloc(0) : Buffer.isBuffer(v) ? v : Buffer.from(String(v), 'latin1');
            expect(Buffer.isBuffer(got), f.name).toBe(true);
            expect((got as Buffer).equals(expected), f.name).toBe(true);
          }
        }
        expect(pdu.tlvs.map((t) => [t.tag, t.value.toString('hex')])).toEqual(tlvs.map((t) => [t.tag, t.value.toString('hex')]));
      });
    }
  }

  it('covers exactly the commands the gateway handles', () => {
    expect([...LAYOUTS.keys()].map(commandName).sort()).toEqual(
      [
        'alert_notification', 'bind_receiver', 'bind_receiver_resp', 'bind_transceiver', 'bind_transceiver_resp',
        'bind_transmitter', 'bind_transmitter_resp', 'cancel_sm', 'cancel_sm_resp', 'data_sm', 'data_sm_resp',
        'deliver_sm', 'deliver_sm_resp', 'enquire_link', 'enquire_link_resp', 'generic_nack', 'outbind', 'query_sm',
        'query_sm_resp', 'replace_sm', 'replace_sm_resp', 'submit_sm', 'submit_sm_resp', 'unbind', 'unbind_resp',
      ].sort(),
    );
  });

  it('returns field values as views into the PDU (no copy)', () => {
    const pdu = success(decode(SUBMIT_SM));
    const src = pdu.fields['source_addr'] as Buffer;
    expect(src.buffer).toBe(SUBMIT_SM.buffer);
    expect(src.byteOffset).toBe(SUBMIT_SM.byteOffset + 19);
    const sm = pdu.fields['short_message'] as Buffer;
    expect(sm.byteOffset).toBe(SUBMIT_SM.byteOffset + 52);
  });
});

describe('decode: hex fixtures', () => {
  it('reads the submit_sm fixture field by field', () => {
    const pdu = success(decode(SUBMIT_SM));
    expect(pdu).toMatchObject({ length: 63, commandId: Command.submit_sm, status: 0, sequence: 7 });
    const f = pdu.fields;
    expect(str(f['service_type'])).toBe('');
    expect(str(f['source_addr'])).toBe('106900');
    expect(str(f['destination_addr'])).toBe('8613800138000');
    expect(num(f['registered_delivery'])).toBe(1);
    expect(num(f['sm_length'])).toBe(11);
    expect(str(f['short_message'])).toBe('hello world');
    expect(pdu.tlvs).toEqual([]);
  });

  it('reads the DLT submit_sm fixture with its vendor TLVs byte-exact', () => {
    const pdu = success(decode(SUBMIT_SM_DLT));
    const f = pdu.fields;
    expect(str(f['service_type'])).toBe('CMT');
    expect([num(f['source_addr_ton']), num(f['source_addr_npi']), str(f['source_addr'])]).toEqual([5, 0, 'BRND']);
    expect([num(f['dest_addr_ton']), num(f['dest_addr_npi']), str(f['destination_addr'])]).toEqual([1, 1, '919876543210']);
    expect([num(f['esm_class']), num(f['protocol_id']), num(f['priority_flag'])]).toEqual([0x40, 0, 1]);
    expect(str(f['validity_period'])).toBe('000001000000000R');
    expect([num(f['registered_delivery']), num(f['data_coding']), num(f['sm_length'])]).toEqual([0x11, 8, 10]);
    expect((f['short_message'] as Buffer).toString('hex')).toBe('0500032a020100480069');
    expect(pdu.tlvs.map((t) => [t.tag, t.value.toString('latin1')])).toEqual([
      [0x1400, '1101'],
      [0x1401, '1107'],
      [0x3fff, 'x'],
    ]);
  });

  it('reads the receipt and data_sm fixtures', () => {
    const r = success(decode(DELIVER_SM_RECEIPT));
    expect(num(r.fields['esm_class'])).toBe(4);
    expect(num(r.fields['sm_length'])).toBe(100);
    expect(r.tlvs.map((t) => [t.tag, t.value.toString('hex')])).toEqual([
      [0x001e, '61626300'],
      [0x0427, '02'],
    ]);
    const d = success(decode(DATA_SM));
    expect(d.sequence).toBe(0x7fffffff);
    expect(str(d.fields['source_addr'])).toBe('10690');
    expect(str(d.fields['destination_addr'])).toBe('8613900139000');
    expect(d.tlvs.map((t) => t.tag)).toEqual([0x0424, 0x020a]);
  });

  it('reads a bind_transceiver fixture', () => {
    const bind = pduHex(`
      00000027 00000009 00000000 00000001   # length 39, bind_transceiver, seq 1
      65736d653100                          # system_id "esme1"
      73656372657400                        # password "secret"
      564d4100                              # system_type "VMA"
      34 01 01                              # interface_version 0x34, addr_ton 1, addr_npi 1
      313000                                # address_range "10"
    `);
    const pdu = success(decode(bind));
    expect(Object.fromEntries(Object.entries(pdu.fields).map(([k, v]) => [k, typeof v === 'number' ? v : str(v)]))).toEqual({
      system_id: 'esme1',
      password: 'secret',
      system_type: 'VMA',
      interface_version: 0x34,
      addr_ton: 1,
      addr_npi: 1,
      address_range: '10',
    });
  });

  it('reads a bind_transceiver_resp with the sc_interface_version TLV', () => {
    const resp = pduHex(`
      0000001a 80000009 00000000 00000001   # length 26
      534d534300                            # system_id "SMSC"
      0210 0001 34                          # sc_interface_version 0x34
    `);
    const pdu = success(decode(resp));
    expect(str(pdu.fields['system_id'])).toBe('SMSC');
    expect(pdu.tlvs.map((t) => [t.tag, t.value[0]])).toEqual([[0x0210, 0x34]]);
  });

  it('decodes error responses whose body is empty', () => {
    for (const [text, id, status] of [
      ['00000010 80000004 00000045 00000007', Command.submit_sm_resp, Status.ESME_RSUBMITFAIL],
      ['00000010 80000005 00000064 00000008', Command.deliver_sm_resp, Status.ESME_RX_T_APPN],
      ['00000010 80000103 00000058 00000009', Command.data_sm_resp, Status.ESME_RTHROTTLED],
      ['00000010 80000009 0000000d 00000001', Command.bind_transceiver_resp, Status.ESME_RBINDFAIL],
      ['00000010 80000001 0000000e 00000001', Command.bind_receiver_resp, Status.ESME_RINVPASWD],
      ['00000010 80000002 0000000f 00000001', Command.bind_transmitter_resp, Status.ESME_RINVSYSID],
      ['00000010 80000003 00000067 00000002', Command.query_sm_resp, Status.ESME_RQUERYFAIL],
      ['00000010 80000000 00000003 00000003', Command.generic_nack, Status.ESME_RINVCMDID],
      ['00000010 80000008 00000011 00000004', Command.cancel_sm_resp, Status.ESME_RCANCELFAIL],
      ['00000010 80000007 00000013 00000005', Command.replace_sm_resp, Status.ESME_RREPLACEFAIL],
    ] as const) {
      const pdu = success(decode(pduHex(text)));
      expect(pdu).toEqual({ length: 16, commandId: id, status, sequence: pdu.sequence, fields: {}, tlvs: [] });
    }
  });

  it('decodes an error response that does carry a body', () => {
    const pdu = success(decode(pduHex('00000011 80000004 00000045 00000007 00')));
    expect(pdu.status).toBe(0x45);
    expect(str(pdu.fields['message_id'])).toBe('');
  });

  it('decodes header-only PDUs', () => {
    for (const text of [
      '00000010 00000015 00000000 00000001', // enquire_link
      '00000010 80000015 00000000 00000001', // enquire_link_resp
      '00000010 00000006 00000000 00000002', // unbind
      '00000010 80000006 00000000 00000002', // unbind_resp
    ]) {
      const pdu = success(decode(pduHex(text)));
      expect(pdu.fields).toEqual({});
      expect(pdu.tlvs).toEqual([]);
    }
  });
});

describe('decode: malformed bodies (hex fixtures)', () => {
  const cases: [label: string, hex: string, status: number, field: string, reason: string][] = [
    [
      'submit_sm: source_addr missing its NUL, PDU ends inside it',
      `00000019 00000004 00000000 00000002
       00 00 00 313036393030`,
      Status.ESME_RINVSRCADR, 'source_addr', 'missing NUL terminator',
    ],
    [
      'submit_sm: source_addr of 21 octets (max 20)',
      `0000002c 00000004 00000000 00000002
       00 00 00 383631333830303133383030303132333435363738 00
       00 00 00`,
      Status.ESME_RINVSRCADR, 'source_addr', 'longer than 20 octets',
    ],
    [
      'submit_sm: destination_addr of 21 octets (max 20)',
      `00000032 00000004 00000000 00000002
       00 00 00 313036393030 00
       01 01 383631333830303133383030303132333435363738 00`,
      Status.ESME_RINVDSTADR, 'destination_addr', 'longer than 20 octets',
    ],
    [
      'submit_sm: destination_addr missing its NUL',
      `00000027 00000004 00000000 00000002
       00 00 00 313036393030 00
       01 01 3836313338303031333830`,
      Status.ESME_RINVDSTADR, 'destination_addr', 'missing NUL terminator',
    ],
    [
      'submit_sm: service_type of 6 octets (max 5)',
      `00000017 00000004 00000000 00000002
       434d54585958 00`,
      Status.ESME_RINVSERTYP, 'service_type', 'longer than 5 octets',
    ],
    [
      'submit_sm: schedule_delivery_time of 17 octets (max 16)',
      `0000003f 00000004 00000000 00000002
       00 00 00 313036393030 00 00 00 38363133383030313338303030 00
       00 00 00
       3234303130313132303030303030302b 30 00`,
      Status.ESME_RINVSCHED, 'schedule_delivery_time', 'longer than 16 octets',
    ],
    [
      'submit_sm: validity_period missing its NUL',
      `00000034 00000004 00000000 00000002
       00 00 00 313036393030 00 00 00 38363133383030313338303030 00
       00 00 00
       00
       303030303031`,
      Status.ESME_RINVEXPIRY, 'validity_period', 'missing NUL terminator',
    ],
    [
      'submit_sm: sm_length 11 but 5 octets follow',
      `00000039 00000004 00000000 00000002
       00 00 00 313036393030 00 00 00 38363133383030313338303030 00
       00 00 00 00 00 01 00 00 00
       0b 68656c6c6f`,
      Status.ESME_RINVMSGLEN, 'short_message', 'runs past the PDU',
    ],
    [
      'submit_sm: sm_length 5 but 4 octets follow (one short)',
      `00000038 00000004 00000000 00000002
       00 00 00 313036393030 00 00 00 38363133383030313338303030 00
       00 00 00 00 00 01 00 00 00
       05 68656c6c`,
      Status.ESME_RINVMSGLEN, 'short_message', 'runs past the PDU',
    ],
    [
      'submit_sm: TLV value one octet short',
      `0000003a 00000004 00000000 00000002
       00 00 00 313036393030 00 00 00 38363133383030313338303030 00
       00 00 00 00 00 01 00 00 00 00
       1401 0003 3131`,
      Status.ESME_RINVOPTPARSTREAM, 'tlv 0x1401', 'value runs past the PDU',
    ],
    [
      'submit_sm: sm_length 255 and nothing follows',
      `00000034 00000004 00000000 00000002
       00 00 00 313036393030 00 00 00 38363133383030313338303030 00
       00 00 00 00 00 01 00 00 00
       ff`,
      Status.ESME_RINVMSGLEN, 'short_message', 'runs past the PDU',
    ],
    [
      'submit_sm: body ends before sm_length',
      `00000033 00000004 00000000 00000002
       00 00 00 313036393030 00 00 00 38363133383030313338303030 00
       00 00 00 00 00 01 00 00 00`,
      Status.ESME_RINVCMDLEN, 'sm_length', 'body ends before this field',
    ],
    [
      'submit_sm: body ends before esm_class',
      `0000002a 00000004 00000000 00000002
       00 00 00 313036393030 00 00 00 38363133383030313338303030 00`,
      Status.ESME_RINVCMDLEN, 'esm_class', 'body ends before this field',
    ],
    [
      'submit_sm: body ends before destination_addr',
      `0000001c 00000004 00000000 00000002
       00 00 00 313036393030 00 00 00`,
      Status.ESME_RINVCMDLEN, 'destination_addr', 'body ends before this field',
    ],
    [
      'submit_sm: empty body',
      `00000010 00000004 00000000 00000002`,
      Status.ESME_RINVCMDLEN, 'service_type', 'body ends before this field',
    ],
    [
      'submit_sm: truncated TLV header (3 octets)',
      `00000037 00000004 00000000 00000002
       00 00 00 313036393030 00 00 00 38363133383030313338303030 00
       00 00 00 00 00 01 00 00 00 00
       0424 00`,
      Status.ESME_RINVOPTPARSTREAM, 'tlv', 'truncated TLV header',
    ],
    [
      'submit_sm: TLV 0x1400 value of 5 declared, 2 present',
      `0000003a 00000004 00000000 00000002
       00 00 00 313036393030 00 00 00 38363133383030313338303030 00
       00 00 00 00 00 01 00 00 00 00
       1400 0005 3131`,
      Status.ESME_RINVOPTPARSTREAM, 'tlv 0x1400', 'value runs past the PDU',
    ],
    [
      'submit_sm: a good TLV, then one whose value runs past the end',
      `00000041 00000004 00000000 00000002
       00 00 00 313036393030 00 00 00 38363133383030313338303030 00
       00 00 00 00 00 01 00 00 00 00
       1400 0004 31313031
       0424 ffff 41`,
      Status.ESME_RINVOPTPARSTREAM, 'tlv 0x0424', 'value runs past the PDU',
    ],
    [
      'deliver_sm: source_addr missing its NUL (runs into the end)',
      `0000001e 00000005 00000000 00000003
       00 01 01 3836313338303031333830`,
      Status.ESME_RINVSRCADR, 'source_addr', 'missing NUL terminator',
    ],
    [
      'data_sm: source_addr of 65 octets (max 64)',
      `00000055 00000103 00000000 00000004
       00 00 00 ${'31'.repeat(65)} 00`,
      Status.ESME_RINVSRCADR, 'source_addr', 'longer than 64 octets',
    ],
    [
      'data_sm: body ends before data_coding',
      `0000001b 00000103 00000000 00000004
       00 00 00 3100 00 00 3200 00 00`,
      Status.ESME_RINVCMDLEN, 'data_coding', 'body ends before this field',
    ],
    [
      'data_sm: TLV header cut after the tag',
      `0000001e 00000103 00000000 00000004
       00 00 00 3100 00 00 3200 00 00 00
       0424`,
      Status.ESME_RINVOPTPARSTREAM, 'tlv', 'truncated TLV header',
    ],
    [
      'bind_transceiver: system_id of 16 octets (max 15)',
      `00000021 00000009 00000000 00000001
       65736d65313233343536373839303132 00`,
      Status.ESME_RINVSYSID, 'system_id', 'longer than 15 octets',
    ],
    [
      'bind_transceiver: password of 9 octets (max 8)',
      `00000020 00000009 00000000 00000001
       65736d653100 736563726574313233 00`,
      Status.ESME_RINVPASWD, 'password', 'longer than 8 octets',
    ],
    [
      'bind_transceiver: system_type of 13 octets (max 12)',
      `0000002b 00000009 00000000 00000001
       65736d653100 73656372657400 31323334353637383930313233 00`,
      Status.ESME_RINVSYSTYP, 'system_type', 'longer than 12 octets',
    ],
    [
      'bind_transceiver: body ends before addr_ton',
      `00000022 00000009 00000000 00000001
       65736d653100 73656372657400 564d4100 34`,
      Status.ESME_RINVCMDLEN, 'addr_ton', 'body ends before this field',
    ],
    [
      'bind_transceiver: address_range missing its NUL (no FIELD_ERROR entry: RINVCMDLEN)',
      `00000026 00000009 00000000 00000001
       65736d653100 73656372657400 564d4100 34 01 01 3130`,
      Status.ESME_RINVCMDLEN, 'address_range', 'missing NUL terminator',
    ],
    [
      'bind_transmitter: empty body',
      `00000010 00000002 00000000 00000001`,
      Status.ESME_RINVCMDLEN, 'system_id', 'body ends before this field',
    ],
    [
      'submit_sm_resp: message_id of 65 octets (max 64)',
      `00000052 80000004 00000000 00000007
       ${'61'.repeat(65)} 00`,
      Status.ESME_RINVMSGID, 'message_id', 'longer than 64 octets',
    ],
    [
      'submit_sm_resp: ESME_ROK with an empty body',
      `00000010 80000004 00000000 00000007`,
      Status.ESME_RINVCMDLEN, 'message_id', 'body ends before this field',
    ],
    [
      'submit_sm_resp: TLV value running past the end',
      `00000016 80000004 00000000 00000007
       00 001d 0003 41`,
      Status.ESME_RINVOPTPARSTREAM, 'tlv 0x001d', 'value runs past the PDU',
    ],
    [
      'query_sm: source_addr missing its NUL',
      `00000017 00000003 00000000 00000001
       3100 01 01 313233`,
      Status.ESME_RINVSRCADR, 'source_addr', 'missing NUL terminator',
    ],
    [
      'replace_sm: sm_length 4 but 1 octet follows',
      `0000001b 00000007 00000000 00000001
       3100 00 00 00 00 00 00 00 04 41`,
      Status.ESME_RINVMSGLEN, 'short_message', 'runs past the PDU',
    ],
    [
      'cancel_sm: message_id missing its NUL',
      `00000015 00000008 00000000 00000001
       00 31323334`,
      Status.ESME_RINVMSGID, 'message_id', 'missing NUL terminator',
    ],
    [
      'outbind: body ends before password',
      `00000015 0000000b 00000000 00000001
       534d534300`,
      Status.ESME_RINVCMDLEN, 'password', 'body ends before this field',
    ],
    [
      'alert_notification: esme_addr missing its NUL (no FIELD_ERROR entry)',
      `00000017 00000102 00000000 00000001
       01 01 3100 01 01 32`,
      Status.ESME_RINVCMDLEN, 'esme_addr', 'missing NUL terminator',
    ],
  ];

  for (const [label, text, status, field, reason] of cases) {
    it(label, () => {
      const bytes = pduHex(text);
      const r = decode(bytes);
      expect(failure(r)).toEqual({ status, field, reason });
      if (!r.ok) expect(r.header).toEqual(readHeaderOf(bytes));
    });
  }

  it('rejects an unknown command_id with ESME_RINVCMDID', () => {
    const r = decode(pduHex('00000014 00000099 00000000 0000000c 00000000'));
    expect(failure(r)).toEqual({ status: Status.ESME_RINVCMDID, field: 'command_id', reason: 'unknown command_id' });
    if (!r.ok) expect(r.header).toEqual({ length: 20, commandId: 0x99, status: 0, sequence: 12 });
    expect(failure(decode(pduHex('00000010 8000ffff 00000000 00000001')))).toMatchObject({ status: 0x03 });
  });

  it('rejects a known command without a layout (submit_multi, broadcast_sm) with ESME_RINVCMDID', () => {
    expect(failure(decode(pduHex('00000011 00000021 00000000 00000001 00')))).toEqual({
      status: Status.ESME_RINVCMDID,
      field: 'command_id',
      reason: 'command not supported here',
    });
    expect(failure(decode(pduHex('00000010 00000111 00000000 00000001')))).toMatchObject({
      status: Status.ESME_RINVCMDID,
      reason: 'command not supported here',
    });
  });
});

function readHeaderOf(b: Buffer) {
  return { length: b.readUInt32BE(0), commandId: b.readUInt32BE(4), status: b.readUInt32BE(8), sequence: b.readUInt32BE(12) };
}

describe('scanBody', () => {
  it('records field offsets and the TLV start', () => {
    const layout = layoutOf(Command.submit_sm)!;
    const off = offsetsFor(layout);
    expect(off.length).toBe(layout.fields.length * 2 + 1);
    expect(scanBody(SUBMIT_SM, layout, off)).toBeNull();
    const at = (name: string) => {
      const i = layout.fields.findIndex((f) => f.name === name);
      return [off[2 * i], off[2 * i + 1]];
    };
    expect(at('service_type')).toEqual([16, 16]);
    expect(at('source_addr_ton')).toEqual([17, 18]);
    expect(at('source_addr')).toEqual([19, 25]);
    expect(at('destination_addr')).toEqual([28, 41]);
    expect(at('sm_length')).toEqual([51, 52]);
    expect(at('short_message')).toEqual([52, 63]);
    expect(off[2 * layout.fields.length]).toBe(63);
  });

  it('accepts C-strings of exactly the maximum length', () => {
    const layout = layoutOf(Command.submit_sm)!;
    const pdu = encodePdu(Command.submit_sm, 0, 1, {
      service_type: 'ABCDE',
      source_addr: '1'.repeat(20),
      destination_addr: '2'.repeat(20),
      schedule_delivery_time: '240101120000000+',
      validity_period: '000001000000000R',
    });
    expect(scanBody(pdu, layout, offsetsFor(layout))).toBeNull();
  });

  it('treats a mandatory-only layout as ignoring trailing octets (no TLVs allowed)', () => {
    // query_sm has no TLVs in 3.4; trailing octets after its mandatory fields are not examined.
    const layout = layoutOf(Command.query_sm)!;
    expect(layout.tlvs).toBe(false);
    expect(scanBody(pduHex('00000018 00000003 00000000 00000001 3100 01 01 3200 ffff'), layout, offsetsFor(layout))).toBeNull();
  });
});

describe('layout tables', () => {
  it('names every FIELD_ERROR key after a real field', () => {
    const names = new Set([...LAYOUTS.values()].flatMap((l) => l.fields.map((f) => f.name)));
    for (const k of Object.keys(FIELD_ERROR)) expect(names.has(k), k).toBe(true);
  });

  it('has octets fields whose length field comes earlier', () => {
    for (const [id, l] of LAYOUTS) {
      l.fields.forEach((f, i) => {
        if (f.type !== 'octets') return;
        const li = l.fields.findIndex((g) => g.name === f.lengthOf);
        expect(li, commandName(id)).toBeGreaterThanOrEqual(0);
        expect(li, commandName(id)).toBeLessThan(i);
        expect(l.fields[li]!.type).toBe('u8');
      });
    }
  });

  it('uses the spec maxima for the address fields', () => {
    const max = (id: number, name: string) => {
      const f = LAYOUTS.get(id)!.fields.find((g) => g.name === name)!;
      return f.type === 'cstring' ? f.max : -1;
    };
    expect(max(Command.submit_sm, 'source_addr')).toBe(21);
    expect(max(Command.submit_sm, 'destination_addr')).toBe(21);
    expect(max(Command.data_sm, 'source_addr')).toBe(65);
    expect(max(Command.bind_transceiver, 'system_id')).toBe(16);
    expect(max(Command.bind_transceiver, 'password')).toBe(9);
    expect(max(Command.submit_sm_resp, 'message_id')).toBe(65);
  });

  it('exports the submit_sm and data_sm field orders', () => {
    expect(SM_FIELDS).toEqual([
      'service_type', 'source_addr_ton', 'source_addr_npi', 'source_addr', 'dest_addr_ton', 'dest_addr_npi',
      'destination_addr', 'esm_class', 'protocol_id', 'priority_flag', 'schedule_delivery_time', 'validity_period',
      'registered_delivery', 'replace_if_present_flag', 'data_coding', 'sm_default_msg_id', 'sm_length', 'short_message',
    ]);
    expect(DATA_SM_FIELDS).toEqual([
      'service_type', 'source_addr_ton', 'source_addr_npi', 'source_addr', 'dest_addr_ton', 'dest_addr_npi',
      'destination_addr', 'esm_class', 'registered_delivery', 'data_coding',
    ]);
  });
});

describe('str / num', () => {
  it('convert field values', () => {
    expect(str(Buffer.from([0x41, 0xe9]))).toBe('A\u00e9');
    expect(str(5)).toBe('');
    expect(str(undefined)).toBe('');
    expect(num(7)).toBe(7);
    expect(num(Buffer.from([1]))).toBe(0);
    expect(num(undefined)).toBe(0);
  });
});
