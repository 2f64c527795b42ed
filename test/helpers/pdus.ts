/**
 * PDUs the unit tests of upstream/, downstream/ and relay/ send, built with the gateway's own encoder
 * (protocol/ has its own byte-level fixtures; these tests are about what the sessions do with PDUs).
 */
import { BIND_COMMAND, Command, type BindKind } from '../../src/protocol/commands.js';
import { encodeEmpty, encodePdu, messageResp, INTERFACE_VERSION_34, type FieldValue } from '../../src/protocol/encode.js';
import { formatReceiptText } from '../../src/protocol/receipt.js';
import { Tag, type Tlv } from '../../src/protocol/tlv.js';

export function bindPdu(kind: BindKind, sequence: number, systemId: string, password: string, systemType = ''): Buffer {
  return encodePdu(BIND_COMMAND[kind], 0, sequence, {
    system_id: systemId,
    password,
    system_type: systemType,
    interface_version: INTERFACE_VERSION_34,
  });
}

/** A submit_sm field set with sensible defaults (stack.ts's sm()). */
export function smFields(over: Record<string, FieldValue> = {}): Record<string, FieldValue> {
  return {
    service_type: '',
    source_addr_ton: 1,
    source_addr_npi: 1,
    source_addr: '10690001',
    dest_addr_ton: 1,
    dest_addr_npi: 1,
    destination_addr: '8613800138000',
    esm_class: 0,
    registered_delivery: 0,
    data_coding: 0,
    short_message: 'hello',
    ...over,
  };
}

export function submitPdu(sequence: number, over: Record<string, FieldValue> = {}, tlvs: Tlv[] = []): Buffer {
  return encodePdu(Command.submit_sm, 0, sequence, smFields(over), tlvs);
}

/** An MO deliver_sm from `source` to `destination`. */
export function moPdu(sequence: number, source: string, destination: string, text = 'hi'): Buffer {
  return encodePdu(
    Command.deliver_sm,
    0,
    sequence,
    smFields({ source_addr: source, destination_addr: destination, short_message: text }),
  );
}

/**
 * A delivery receipt deliver_sm for SMSC message id `id`: the standard text, and receipted_message_id
 * unless `tlv` is false (then only the text carries the id).
 */
export function receiptPdu(sequence: number, id: string, opts: { tlv?: boolean; source?: string; destination?: string } = {}): Buffer {
  const when = new Date(Date.UTC(2026, 0, 2, 3, 4));
  const text = formatReceiptText({ id, submitted: when, done: when, state: 2 });
  const tlvs: Tlv[] = opts.tlv === false ? [] : [{ tag: Tag.receipted_message_id, value: Buffer.from(`${id}\0`, 'latin1') }];
  return encodePdu(
    Command.deliver_sm,
    0,
    sequence,
    smFields({
      source_addr: opts.source ?? '8613800138000',
      destination_addr: opts.destination ?? '10690001',
      esm_class: 0x04,
      short_message: Buffer.from(text, 'latin1'),
    }),
    tlvs,
  );
}

export const enquireLink = (sequence: number) => encodeEmpty(Command.enquire_link, 0, sequence);
export const unbindPdu = (sequence: number) => encodeEmpty(Command.unbind, 0, sequence);
export const submitResp = (sequence: number, status: number, messageId = '') => messageResp(Command.submit_sm_resp, status, sequence, messageId);
export const deliverResp = (sequence: number, status = 0) => messageResp(Command.deliver_sm_resp, status, sequence);

/** A PDU from a header and a raw body (for malformed input): command_length is computed. */
export function rawPdu(commandId: number, sequence: number, body: Buffer = Buffer.alloc(0), status = 0): Buffer {
  const h = Buffer.alloc(16);
  h.writeUInt32BE(16 + body.length, 0);
  h.writeUInt32BE(commandId >>> 0, 4);
  h.writeUInt32BE(status >>> 0, 8);
  h.writeUInt32BE(sequence >>> 0, 12);
  return Buffer.concat([h, body]);
}
