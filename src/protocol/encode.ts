/**
 * Builds the PDUs the gateway originates (binds, responses, enquire_link, unbind, generic_nack,
 * deliver_sm for receipts it generates) from the same layout tables the parser reads.
 * Forwarded messages are never re-encoded: they keep their original bytes.
 */
import { commandName } from './commands.js';
import { HEADER_LENGTH } from './header.js';
import { LAYOUTS } from './layouts.js';
import { Command } from './commands.js';
import type { Tlv } from './tlv.js';

export type FieldValue = string | number | Buffer;

export function encodePdu(
  commandId: number,
  status: number,
  sequence: number,
  fields: Readonly<Record<string, FieldValue>> = {},
  tlvs: readonly Tlv[] = [],
): Buffer {
  const layout = LAYOUTS.get(commandId);
  if (!layout) throw new RangeError(`no layout for ${commandName(commandId)}`);
  const headerOnly = layout.emptyOnError && status !== 0 && Object.keys(fields).length === 0 && tlvs.length === 0;
  const values: Buffer[] = [];
  let size = HEADER_LENGTH;
  if (!headerOnly) {
    for (const f of layout.fields) {
      const v = fields[f.name];
      let b: Buffer;
      switch (f.type) {
        case 'u8':
          b = Buffer.from([typeof v === 'number' ? v : 0]);
          break;
        case 'u32':
          b = Buffer.alloc(4);
          b.writeUInt32BE(typeof v === 'number' ? v >>> 0 : 0);
          break;
        case 'cstring': {
          const raw = v === undefined ? Buffer.alloc(0) : Buffer.isBuffer(v) ? v : Buffer.from(String(v), 'latin1');
          if (raw.length > f.max - 1) throw new RangeError(`${f.name} is longer than ${f.max - 1} octets`);
          // An inner NUL would end the field early and shift every field after it.
          if (raw.indexOf(0) >= 0) throw new RangeError(`${f.name} contains a NUL octet`);
          b = Buffer.concat([raw, ZERO]);
          break;
        }
        case 'octets':
          b = v === undefined ? Buffer.alloc(0) : Buffer.isBuffer(v) ? v : Buffer.from(String(v), 'latin1');
          break;
      }
      values.push(b);
      size += b.length;
    }
    // A length field follows its octets' actual size unless the caller set it.
    for (let i = 0; i < layout.fields.length; i++) {
      const f = layout.fields[i]!;
      if (f.type === 'octets') {
        const li = layout.fields.findIndex((g) => g.name === f.lengthOf);
        if (fields[f.lengthOf] === undefined) {
          if (values[i]!.length > 255) throw new RangeError(`${f.name} over 255 octets: use message_payload`);
          values[li] = Buffer.from([values[i]!.length]);
        }
      }
    }
    for (const t of tlvs) size += 4 + t.value.length;
  }
  const out = Buffer.allocUnsafe(size);
  out.writeUInt32BE(size, 0);
  out.writeUInt32BE(commandId >>> 0, 4);
  out.writeUInt32BE(status >>> 0, 8);
  out.writeUInt32BE(sequence >>> 0, 12);
  let p = HEADER_LENGTH;
  if (!headerOnly) {
    for (const b of values) p += b.copy(out, p);
    for (const t of tlvs) {
      out.writeUInt16BE(t.tag, p);
      out.writeUInt16BE(t.value.length, p + 2);
      p += 4 + t.value.copy(out, p + 4);
    }
  }
  return out;
}

const ZERO = Buffer.from([0]);

/** A header-only PDU (enquire_link, unbind, their responses, generic_nack). */
export function encodeEmpty(commandId: number, status: number, sequence: number): Buffer {
  const out = Buffer.allocUnsafe(HEADER_LENGTH);
  out.writeUInt32BE(HEADER_LENGTH, 0);
  out.writeUInt32BE(commandId >>> 0, 4);
  out.writeUInt32BE(status >>> 0, 8);
  out.writeUInt32BE(sequence >>> 0, 12);
  return out;
}

export const genericNack = (status: number, sequence: number) => encodeEmpty(Command.generic_nack, status, sequence);

/**
 * submit_sm_resp / data_sm_resp / deliver_sm_resp. With an error status the body is omitted
 * (3.4 §4.4.2: "the submit_sm_resp PDU body is not returned"), which every ESME we know accepts.
 */
export function messageResp(respId: number, status: number, sequence: number, messageId = ''): Buffer {
  if (status !== 0) return encodeEmpty(respId, status, sequence);
  return encodePdu(respId, 0, sequence, { message_id: messageId });
}

/** 3.4 interface version 0x34, as sent in binds and the sc_interface_version TLV. */
export const INTERFACE_VERSION_34 = 0x34;
export const INTERFACE_VERSION_50 = 0x50;
