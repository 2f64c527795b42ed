/**
 * Hex fixture helpers for the codec tests. Fixtures are written out byte by byte, cloudhopper/SMPPEX
 * style; `#` starts a comment that runs to the end of the line, whitespace and `|` are ignored.
 */
export function hex(text: string): Buffer {
  const clean = text.replace(/#[^\n]*/g, '').replace(/[\s|]/g, '');
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(clean)) throw new Error(`bad hex fixture: ${clean}`);
  return Buffer.from(clean, 'hex');
}

/** A whole PDU fixture: also checks that the written command_length matches the bytes written. */
export function pduHex(text: string): Buffer {
  const b = hex(text);
  if (b.length < 16 || b.readUInt32BE(0) !== b.length) {
    throw new Error(`fixture command_length ${b.length >= 4 ? b.readUInt32BE(0) : '?'} != ${b.length} bytes`);
  }
  return b;
}

/** Deterministic PRNG (mulberry32) so fuzz and property runs are reproducible. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---- Shared fixtures -------------------------------------------------------------------------------

/** enquire_link, sequence 1. */
export const ENQUIRE_LINK = pduHex('00000010 00000015 00000000 00000001');

/** enquire_link_resp, sequence 1. */
export const ENQUIRE_LINK_RESP = pduHex('00000010 80000015 00000000 00000001');

/**
 * submit_sm, sequence 7, from 106900 to 8613800138000, registered_delivery 1, "hello world".
 * The same bytes the `smpp` npm package produces for these fields.
 */
export const SUBMIT_SM = pduHex(`
  0000003f 00000004 00000000 00000007   # header: length 63, submit_sm, ESME_ROK, seq 7
  00                                    # service_type ""
  00 00 313036393030 00                 # source_addr_ton, _npi, source_addr "106900"
  00 00 38363133383030313338303030 00   # dest_addr_ton, _npi, destination_addr "8613800138000"
  00 00 00                              # esm_class, protocol_id, priority_flag
  00 00                                 # schedule_delivery_time "", validity_period ""
  01 00 00 00                           # registered_delivery 1, replace_if_present, data_coding 0, sm_default_msg_id
  0b 68656c6c6f20776f726c64             # sm_length 11, short_message "hello world"
`);

/**
 * submit_sm, sequence 0x0102, service_type "CMT", TON/NPI 5/0 and 1/1, esm_class 0x40 (UDHI),
 * schedule "" , validity relative "000001000000000R", registered_delivery 0x11, data_coding 8,
 * short_message = UDH(050003 2a 02 01) + UCS-2 "Hi", and TLVs: 0x1400 PE_ID "1101", 0x1401 template
 * id "1107", vendor 0x3fff "x".
 */
export const SUBMIT_SM_DLT = pduHex(`
  00000063 00000004 00000000 00000102            # header: length 99, submit_sm, seq 0x102
  434d5400                                       # service_type "CMT"
  05 00 42524e44 00                              # source ton 5 (alnum), npi 0, "BRND"
  01 01 393139383736353433323130 00              # dest ton 1, npi 1, "919876543210"
  40 00 01                                       # esm_class UDHI, protocol_id 0, priority_flag 1
  00                                             # schedule_delivery_time ""
  30303030303130303030303030303052 00            # validity_period "000001000000000R"
  11 00 08 00                                    # registered_delivery 0x11, replace 0, data_coding UCS-2, default msg id
  0a 0500032a0201 00480069                       # sm_length 10: UDH concat ref 0x2a 2/1, "Hi" UCS-2
  1400 0004 31313031                             # TLV PE_ID "1101"
  1401 0004 31313037                             # TLV template id "1107"
  3fff 0001 78                                   # TLV vendor 0x3fff "x"
`);

/**
 * deliver_sm delivery receipt, sequence 9, esm_class 0x04, from 8613800138000 to 106900, with
 * receipted_message_id "abc" (C-string) and message_state 2 (DELIVERED).
 */
export const DELIVER_SM_RECEIPT = pduHex(`
  000000a5 00000005 00000000 00000009            # header: length 165, deliver_sm, seq 9
  00                                             # service_type ""
  01 01 38363133383030313338303030 00            # source ton 1, npi 1, "8613800138000"
  00 00 313036393030 00                          # dest "106900"
  04 00 00                                       # esm_class 0x04 = SMSC delivery receipt
  00 00                                          # schedule, validity: NULL in deliver_sm
  00 00 00 00                                    # registered_delivery, replace, data_coding, default id
  64                                             # sm_length 100
  69643a414243207375623a30303120646c7672643a     # "id:ABC sub:001 dlvrd:"
  303031207375626d697420646174653a               # "001 submit date:"
  3234303130313132303020646f6e6520646174653a     # "2401011200 done date:"
  3234303130313132303120737461743a44454c49565244 # "2401011201 stat:DELIVRD"
  206572723a30303020746578743a48656c6c6f         # " err:000 text:Hello"
  001e 0004 61626300                             # TLV receipted_message_id "abc\\0"
  0427 0001 02                                   # TLV message_state DELIVERED
`);

/**
 * data_sm, sequence 0x7fffffff, service_type "", from 10690 to 8613900139000, esm_class 0,
 * registered_delivery 1, data_coding 0, message_payload "payload text" and source_port 0x020a.
 */
export const DATA_SM = pduHex(`
  00000042 00000103 00000000 7fffffff            # header: length 66, data_sm, seq 0x7fffffff
  00                                             # service_type ""
  00 01 3130363930 00                            # source ton 0, npi 1, "10690"
  01 01 38363133393030313339303030 00            # dest ton 1, npi 1, "8613900139000"
  00 01 00                                       # esm_class, registered_delivery 1, data_coding 0
  0424 000c 7061796c6f61642074657874             # TLV message_payload "payload text"
  020a 0002 1f90                                 # TLV source_port 8080
`);
