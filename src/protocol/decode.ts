/**
 * Decodes a framed PDU into a plain record (header, mandatory fields, TLVs) for the PDUs the
 * gateway handles itself (binds, responses, tests). Forwarded messages use MessageView instead.
 * C-string and octet fields come back as Buffers that share memory with the PDU.
 */
import { isKnownCommand } from './commands.js';
import { readHeader, HEADER_LENGTH, type Header } from './header.js';
import { layoutOf, offsetsFor, scanBody, type ScanError } from './scan.js';
import { Status } from './status.js';
import { readTlvs, type Tlv } from './tlv.js';

export interface DecodedPdu extends Header {
  fields: Record<string, number | Buffer>;
  tlvs: Tlv[];
}

export type DecodeResult = { ok: true; pdu: DecodedPdu } | ({ ok: false; header: Header } & ScanError);

export function decode(pdu: Buffer): DecodeResult {
  const header = readHeader(pdu);
  const layout = layoutOf(header.commandId);
  if (!layout) {
    return {
      ok: false,
      header,
      status: Status.ESME_RINVCMDID,
      field: 'command_id',
      reason: isKnownCommand(header.commandId) ? 'command not supported here' : 'unknown command_id',
    };
  }
  const fields: Record<string, number | Buffer> = {};
  if (layout.emptyOnError && header.status !== 0 && pdu.length === HEADER_LENGTH) {
    return { ok: true, pdu: { ...header, fields, tlvs: [] } };
  }
  const off = offsetsFor(layout);
  const err = scanBody(pdu, layout, off);
  if (err) return { ok: false, header, ...err };
  layout.fields.forEach((f, i) => {
    const s = off[2 * i]!;
    fields[f.name] =
      f.type === 'u8' ? pdu[s]! : f.type === 'u32' ? pdu.readUInt32BE(s) : pdu.subarray(s, off[2 * i + 1]!);
  });
  const tlvStart = off[2 * layout.fields.length]!;
  const tlvs = layout.tlvs ? (readTlvs(pdu, tlvStart, pdu.length) ?? []) : [];
  return { ok: true, pdu: { ...header, fields, tlvs } };
}

/** A C-string field as text (SMPP C-strings are ASCII; latin1 keeps every byte). */
export function str(v: number | Buffer | undefined): string {
  return v === undefined || typeof v === 'number' ? '' : v.toString('latin1');
}

export function num(v: number | Buffer | undefined): number {
  return typeof v === 'number' ? v : 0;
}
